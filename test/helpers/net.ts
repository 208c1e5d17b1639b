import { createHmac } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer } from 'node:net';
import { openResponse, sealRequest } from './whatsapp-client';

/** A port nothing listens on right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections at host:port within 500 ms. */
export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The Redis to test against: REDIS_URL, else the local default; undefined when it does not answer
 * on a developer's machine. In CI (CI=true) a Redis that does not answer is an error: .ci/run starts
 * one, and a test that cannot reach a service it needs must fail there, not pass with a warning.
 */
export async function testRedisUrl(): Promise<string | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const u = new URL(url);
  if (await reachable(u.hostname, Number(u.port || 6379))) return url;
  if (servicesRequired()) throw new Error(`no Redis answers at ${u.host}; CI needs one (.ci/run starts it)`);
  return undefined;
}

/** True in CI (CI=true, as .ci/run is run) or with REQUIRE_SERVICES=1: missing services fail tests. */
export function servicesRequired(): boolean {
  return process.env.CI === 'true' || process.env.REQUIRE_SERVICES === '1';
}

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One HTTP request on its own connection (no keep-alive pool), so that under node:cluster each
 * request may reach a different worker. `slowBody` sends the body in two halves with a pause in
 * between, calling `midway` after the first half: a request that is provably in flight.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    slowBody?: { pauseMs: number; midway?: () => void };
  } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = request(
      url,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        agent: false,
        headers: {
          connection: 'close',
          ...(body ? { 'content-length': String(body.length) } : {}),
          ...(options.headers ?? {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (!body) return void req.end();
    if (!options.slowBody) return void req.end(body);
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half));
    req.flushHeaders();
    options.slowBody.midway?.();
    setTimeout(() => req.end(body.subarray(half)), options.slowBody.pauseMs);
  });
}

/** A sealed, signed ping as WhatsApp would send it, and how to open its answer. */
export function signedPing(
  publicKeyPem: string,
  appSecret: string,
): { body: string; headers: Record<string, string>; open: (reply: string) => unknown } {
  const sealed = sealRequest(publicKeyPem, { version: '3.0', action: 'ping' });
  const body = JSON.stringify(sealed.envelope);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`,
    },
    open: (reply) => JSON.parse(openResponse(reply, sealed.aesKey, sealed.iv)) as unknown,
  };
}

/** Waits until `ms` is far enough from the end of the current fixed window that a test fits in it. */
export async function awayFromWindowEnd(windowMs: number, needMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 20));
}

export function randomAddress(): string {
  const b = () => Math.floor(Math.random() * 254) + 1;
  return `10.${b()}.${b()}.${b()}`;
}
