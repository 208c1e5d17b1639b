import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Dispatcher, FlowHttpResponse } from '../endpoint';
import {
  MalformedRequestError,
  PayloadTooLargeError,
  RateLimitedError,
  UnsupportedMediaTypeError,
  type ProtocolError,
} from '../protocol';
import type { RateLimiter } from '../ratelimit';
import { statusOf } from './error-status';
import { isJson } from './media-type';

/**
 * The thin edge: read the raw bytes (X-Hub-Signature-256 is an HMAC of exactly these bytes;
 * re-serialised JSON would not match), hand them to the dispatcher, write what it returns. Body-parser failures
 * (413, unsupported encoding) go through the dispatcher too, so they are audited like the rest.
 * The usual request never gets here: src/http/flow-edge.ts serves it without Express; this route
 * serves the rest (chunked, compressed, oversized, other media types).
 */
export function flowRouter(dispatcher: Dispatcher, bodyLimitBytes: number, rateLimiter?: RateLimiter): Router {
  const router = express.Router();
  const rawBody = express.raw({ type: () => true, limit: bodyLimitBytes });
  // Edge limits run before the body is read: a refused request costs no parsing and no RSA.
  const edge = (req: Request, res: Response, next: NextFunction): void => {
    const refusal = rateLimiter?.checkEdge(req.ip);
    if (!refusal) return next();
    res.status(statusOf(new RateLimitedError(refusal.layer)));
    res.set('Retry-After', String(refusal.retryAfterSeconds));
    res.type('text/plain').send('');
  };
  const record = async (req: Request, status: number): Promise<void> => {
    await rateLimiter?.recordOutcome(req.ip, status);
  };

  router.post('/flows/:flowId', edge, rawBody, async (req: Request, res: Response) => {
    const contentType = req.headers['content-type'];
    const edgeError = isJson(contentType) ? undefined : new UnsupportedMediaTypeError(contentType);
    const result = await dispatcher.handle({
      flowId: String(req.params.flowId),
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      signature: req.get('x-hub-signature-256'),
      requestId: String(res.locals.requestId),
      remoteAddress: req.ip,
      edgeError,
    });
    await record(req, result.status);
    send(res, result);
  });

  router.use('/flows/:flowId', async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    const edgeError = bodyParserError(err, bodyLimitBytes);
    if (!edgeError) return next(err);
    const result = await dispatcher.handle({
      flowId: String(req.params.flowId),
      rawBody: undefined,
      signature: undefined,
      requestId: String(res.locals.requestId),
      remoteAddress: req.ip,
      edgeError,
    });
    // The rest of an oversized body is not read; close the connection rather than drain it.
    if (result.status === 413) res.set('Connection', 'close');
    await record(req, result.status);
    send(res, result);
  });
  return router;
}

function bodyParserError(err: unknown, limit: number): ProtocolError | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new PayloadTooLargeError(limit);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return new UnsupportedMediaTypeError(undefined);
  if (typeof type === 'string') return new MalformedRequestError(type);
  // A corrupt gzip/deflate body reaches here as body-parser's 400 wrapping a zlib error, without a
  // `type`; it is still an unreadable body, refused and audited like the rest (empty body, not the
  // app-level JSON). Found by test/component/http-errors.test.ts.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new MalformedRequestError('unreadable body');
  return undefined;
}

function send(res: Response, result: FlowHttpResponse): void {
  res.status(result.status);
  res.type(result.contentType);
  res.send(result.body);
}
