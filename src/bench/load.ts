import http from 'node:http';
import { RawConnection, requestBytes } from './raw-connection';
import type { SealedBody } from './whatsapp-sealer';

/** One prebuilt request and how to tell its answer is right. */
export interface PoolEntry {
  readonly path: string;
  readonly sealed: SealedBody;
  /** Given the HTTP status and the body, whether the answer is the expected success. */
  readonly check: (status: number, body: string) => boolean;
}

export interface LoadResult {
  /** Requests answered inside the measured window. */
  readonly requests: number;
  /** Every request sent, warm-up and stragglers included (to divide server-side totals by). */
  readonly sent: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Statuses of failed requests (and `network` for transport errors), with counts. */
  readonly errorKinds: Record<string, number>;
}

export interface LoadOptions {
  readonly baseUrl: string;
  readonly pool: readonly PoolEntry[];
  readonly connections: number;
  readonly durationMs: number;
  /** Requests before this time are sent but not counted (JIT, pool and cache warm-up). */
  readonly warmupMs?: number;
  /** Per-request timeout; a request slower than this counts as an error. */
  readonly timeoutMs?: number;
  /** Open loop: at most this many requests per second in total (closed loop when undefined). */
  readonly ratePerSecond?: number;
  /** Also push each measured latency (ms) here, to summarise several runs as one. */
  readonly latencies?: number[];
  /**
   * Keep-alive connections to reuse (one per loop, `connections` of them), left open afterwards:
   * runs in slices then measure requests, not connection set-up at every slice.
   */
  readonly reuse?: readonly RawConnection[];
}

export interface SendResult {
  readonly status: number;
  readonly body: string;
  /** The service's `X-Request-Id` (its audit events carry it). */
  readonly requestId: string | undefined;
}

/** POSTs one prebuilt body over a keep-alive agent; rejects on transport errors and timeouts. */
export function send(agent: http.Agent, url: URL, entry: PoolEntry, timeoutMs: number): Promise<SendResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (entry.sealed.signature) headers['x-hub-signature-256'] = entry.sealed.signature;
  return post(agent, url, { path: entry.path, headers, body: entry.sealed.body }, timeoutMs);
}

/**
 * POSTs `body` with exactly `headers` (plus Content-Length) over a keep-alive agent; rejects on
 * transport errors and with `timeout` after `timeoutMs`. The fuzz test sends hostile headers with it.
 */
export function post(
  agent: http.Agent,
  url: URL,
  request: { path: string; headers: Record<string, string>; body: Buffer | string },
  timeoutMs: number,
): Promise<SendResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: request.path,
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            requestId: res.headers['x-request-id'] as string | undefined,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** The bytes of each pool entry's request, as WhatsApp sends it (JSON, signed when a secret is used). */
function poolBytes(url: URL, pool: readonly PoolEntry[]): Buffer[] {
  return pool.map((entry) =>
    requestBytes(url.host, entry.path, entry.sealed.body, {
      'Content-Type': 'application/json',
      ...(entry.sealed.signature ? { 'X-Hub-Signature-256': entry.sealed.signature } : {}),
    }),
  );
}

/**
 * Closed-loop load: `connections` loops, each sending the next prebuilt request as soon as the
 * previous one is answered, over its own keep-alive connection (RawConnection: prebuilt bytes, a
 * minimal reply parser); latency from write to last byte.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.baseUrl);
  const bytes = poolBytes(url, options.pool);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const warmupMs = options.warmupMs ?? 0;
  const start = performance.now();
  const countFrom = start + warmupMs;
  const end = countFrom + options.durationMs;
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let sent = 0;
  const interval = options.ratePerSecond ? (1000 * options.connections) / options.ratePerSecond : 0;

  const loop = async (_: unknown, i: number): Promise<void> => {
    const connection = options.reuse?.[i] ?? new RawConnection(url.hostname, Number(url.port));
    while (performance.now() < end) {
      const index = next++ % options.pool.length;
      const entry = options.pool[index];
      const sentAt = performance.now();
      sent++;
      let ok = false;
      let kind = 'network';
      try {
        const res = await connection.request(bytes[index], timeoutMs);
        ok = entry.check(res.status, res.body);
        kind = String(res.status);
      } catch (err) {
        kind = (err as Error).message === 'timeout' ? 'timeout' : 'network';
      }
      const done = performance.now();
      if (sentAt >= countFrom && done <= end) {
        latencies.push(done - sentAt);
        options.latencies?.push(done - sentAt);
      }
      // Every failure counts, warm-up included: the bench and the soak gate on zero.
      if (!ok) {
        errors++;
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
      if (interval > 0) {
        const wait = interval - (performance.now() - sentAt);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (!options.reuse) connection.close();
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = options.durationMs / 1000;
  return {
    requests: latencies.length,
    sent,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    ...latencySummary(latencies),
    errorKinds,
  };
}

/** p50, p90, p99 and the maximum of latencies in ms (nearest rank). */
export function latencySummary(latencies: readonly number[]): {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
} {
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50Ms: pct(0.5), p90Ms: pct(0.9), p99Ms: pct(0.99), maxMs: sorted.length ? pct(1) : 0 };
}
