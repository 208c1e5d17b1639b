import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Dispatcher, FlowHttpRequest, FlowHttpResponse } from '../endpoint';
import { errorSummary, type Logger } from '../logging';
import { MalformedRequestError, RateLimitedError } from '../protocol';
import type { EdgeRefusal, RateLimiter } from '../ratelimit';
import { clientAddress } from './client-address';
import { statusOf } from './error-status';
import { isJson } from './media-type';

export interface FlowEdgeOptions {
  readonly dispatcher: Dispatcher;
  readonly bodyLimitBytes: number;
  readonly trustProxy: boolean | number;
  readonly logger: Logger;
  readonly rateLimiter?: RateLimiter;
  /** The headers helmet sets on every Express answer (computed once from helmet at start). */
  readonly securityHeaders: Readonly<Record<string, string>>;
  /** Everything the fast path does not take: the Express app. */
  readonly fallback: RequestListener;
}

const FLOW_PATH = /^\/flows\/([A-Za-z0-9_-]{1,200})\/?$/;

/**
 * The request listener the server runs: WhatsApp's `POST /flows/<id>` on a lean node:http path,
 * everything else (health, token API, metrics, 404s, and unusual flow requests) through Express.
 *
 * Why: a ping's floor is one RSA-OAEP decrypt, and under load Express's router, body-parser and
 * per-request middleware cost a worker about as much again (CPU profile in the commit that
 * introduced this file). The fast path does what the Express route does — security headers, request
 * id, edge rate limits before the body is read, raw body to the dispatcher, failure counting — for
 * the common request only: JSON, a Content-Length within BODY_LIMIT_BYTES, no Content-Encoding.
 * Anything else (chunked, compressed, oversized, other media types, odd paths) takes the Express
 * route, which refuses and audits it exactly as before (src/http/flow-route.ts).
 */
export function flowEdge(options: FlowEdgeOptions): RequestListener {
  const { dispatcher, bodyLimitBytes, trustProxy, rateLimiter, logger, securityHeaders, fallback } = options;

  const write = (res: ServerResponse, requestId: string, result: FlowHttpResponse, extra = {}): void => {
    if (res.destroyed) return;
    res.writeHead(result.status, {
      ...securityHeaders,
      'X-Request-Id': requestId,
      'Content-Type': `${result.contentType}; charset=utf-8`,
      'Content-Length': Buffer.byteLength(result.body, 'utf8'),
      ...extra,
    });
    // A string, not a Buffer: Node then sends headers and body in one write, not a writev.
    res.end(result.body, 'utf8');
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, flowId: string): Promise<void> => {
    const requestId = randomUUID();
    const remoteAddress = clientAddress(req, trustProxy);
    const refusal = rateLimiter?.checkEdge(remoteAddress);
    if (refusal) return write(res, requestId, refused(refusal), { 'Retry-After': String(refusal.retryAfterSeconds) });
    const rawBody = await readBody(req);
    const input: FlowHttpRequest = {
      flowId,
      rawBody,
      signature: single(req.headers['x-hub-signature-256']),
      requestId,
      remoteAddress,
      // The client went away mid-body: audited like the Express route's 'request.aborted'.
      edgeError: rawBody === undefined ? new MalformedRequestError('request.aborted') : undefined,
    };
    const result = await dispatcher.handle(input);
    await rateLimiter?.recordOutcome(remoteAddress, result.status);
    write(res, requestId, result);
  };

  return (req, res) => {
    const taken = fastPathFor(req, bodyLimitBytes);
    if (!taken) return fallback(req, res);
    serve(req, res, taken.flowId).catch((err: unknown) => {
      // The dispatcher answers every failure itself; reaching here is a bug, answered like Express's last resort.
      logger.error('unhandled error', { error: errorSummary(err) });
      if (!res.headersSent) write(res, randomUUID(), { status: 500, contentType: 'text/plain', body: '' });
      else res.destroy();
    });
  };
}

/** The flow id when the fast path takes this request, else undefined. */
function fastPathFor(req: IncomingMessage, limit: number): { flowId: string } | undefined {
  if (req.method !== 'POST') return undefined;
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const match = FLOW_PATH.exec(query === -1 ? url : url.slice(0, query));
  if (!match) return undefined;
  const { headers } = req;
  if (!isJson(headers['content-type'])) return undefined;
  if (!isIdentity(headers)) return undefined;
  const length = contentLength(headers);
  if (length === undefined || length > limit) return undefined;
  return { flowId: match[1] as string };
}

function isIdentity(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['content-encoding'];
  if (headers['transfer-encoding'] !== undefined) return false;
  return encoding === undefined || encoding.trim().toLowerCase() === 'identity';
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/**
 * The whole body, or undefined when the client went away before sending it. Node's parser stops
 * at Content-Length, which the fast path checked against the limit before reading.
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)));
    req.once('error', () => resolve(undefined));
    req.once('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

function refused(refusal: EdgeRefusal): FlowHttpResponse {
  return { status: statusOf(new RateLimitedError(refusal.layer)), contentType: 'text/plain', body: '' };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
