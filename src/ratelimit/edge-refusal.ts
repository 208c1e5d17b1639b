/** Why the edge refused a request before reading it: answered 429 with Retry-After. */
export interface EdgeRefusal {
  readonly layer: 'failed_per_ip' | 'global';
  readonly retryAfterSeconds: number;
}
