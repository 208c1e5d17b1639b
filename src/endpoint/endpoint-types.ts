import type { ProtocolError } from '../protocol';

/** One request as the HTTP edge hands it to the dispatcher: bytes and headers, no Express objects. */
export interface FlowHttpRequest {
  readonly flowId: string;
  /** Undefined when the edge refused the body (then `edgeError` says why). */
  readonly rawBody: Buffer | undefined;
  readonly signature: string | undefined;
  readonly requestId: string;
  readonly remoteAddress?: string;
  readonly edgeError?: ProtocolError;
}

export interface FlowHttpResponse {
  readonly status: number;
  readonly body: string;
  readonly contentType: 'text/plain' | 'application/json';
}

/** Reported for every request (metrics, rate limits); no user data. */
export interface RequestObservation {
  readonly flowId: string | undefined;
  readonly screen: string | undefined;
  readonly action: string | undefined;
  readonly outcome: string;
  readonly status: number;
  readonly durationMs: number;
  readonly errorCode: string | undefined;
  readonly remoteAddress: string | undefined;
  /** Error notifications: the kept error key (a documented key, "(other)" or null). */
  readonly noticeKey?: string | null;
}
