import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../logging';
import type { RateLimiter } from '../ratelimit';
import { tokenIdOf } from '../tokens/token-service';
import { recordSentMessage, type WebhookAnswer, type WebhookPost, type WebhookReceiver } from '../webhooks';
import { bearerMatches } from '../crypto';
import { isJson } from './media-type';

/**
 * The thin edge of the WhatsApp Business webhook (src/webhooks/): GET is the subscription
 * handshake, POST a notification read as raw bytes (the signature covers them exactly) up to its
 * own body limit. Unreadable bodies go through the receiver too, so they are refused and audited
 * like the rest.
 */
export function webhookRouter(options: {
  receiver: WebhookReceiver;
  path: string;
  bodyLimitBytes: number;
  rateLimiter?: RateLimiter;
}): Router {
  const { receiver, path } = options;
  const router = express.Router();
  const edge = (req: Request, res: Response, next: NextFunction): void => {
    const refusal = options.rateLimiter?.checkEdge(req.ip);
    if (!refusal) return next();
    res.status(429).set('Retry-After', String(refusal.retryAfterSeconds)).type('text/plain').send('');
  };
  router.get(path, edge, (req: Request, res: Response) => {
    send(res, receiver.verify(req.query as Record<string, unknown>));
  });
  router.post(
    path,
    edge,
    express.raw({ type: () => true, limit: options.bodyLimitBytes }),
    async (req: Request, res: Response) => {
      const post: WebhookPost = {
        rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        signature: req.get('x-hub-signature-256'),
        requestId: String(res.locals.requestId),
        edgeError: isJson(req.headers['content-type']) ? undefined : { outcome: 'unsupported_media_type', status: 415 },
      };
      const result = await receiver.receive(post);
      await options.rateLimiter?.recordOutcome(req.ip, failedAs(result.status));
      send(res, result);
    },
  );
  router.use(path, async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof type !== 'string' && !(typeof status === 'number' && status >= 400 && status < 500)) return next(err);
    const edgeError: WebhookPost['edgeError'] =
      type === 'entity.too.large'
        ? { outcome: 'too_large', status: 413 }
        : type === 'encoding.unsupported' || type === 'charset.unsupported'
          ? { outcome: 'unsupported_media_type', status: 415 }
          : { outcome: 'unreadable', status: 400 };
    const result = await receiver.receive({
      rawBody: Buffer.alloc(0),
      signature: undefined,
      requestId: String(res.locals.requestId),
      edgeError,
    });
    // The rest of an oversized body is not read; close the connection rather than drain it.
    if (result.status === 413) res.set('Connection', 'close');
    await options.rateLimiter?.recordOutcome(req.ip, failedAs(result.status));
    send(res, result);
  });
  return router;
}

/**
 * `POST /api/flow-messages` — the business's messaging system records the id WhatsApp gave the flow
 * message it sent (`messages[0].id` of the send call) with the message's flow token, so a completion
 * reply without `flow_token` is linked through its `context.id`. Protected by TOKEN_API_KEY.
 */
export function flowMessagesRouter(options: { knex: Knex; apiKey: string; logger: Logger }): Router {
  const router = express.Router();
  router.post(
    '/api/flow-messages',
    (req: Request, res: Response, next: NextFunction) => {
      if (!bearerMatches(req.get('authorization'), options.apiKey)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer key' });
        return;
      }
      next();
    },
    express.json({ limit: 4 * 1024, strict: true, type: () => true }),
    async (req: Request, res: Response) => {
      const body = req.body as Record<string, unknown> | null;
      const token = body && typeof body === 'object' ? (body.flow_token ?? body.token_id) : undefined;
      const messageId = body && typeof body === 'object' ? body.message_id : undefined;
      const unknownKeys =
        body && typeof body === 'object' && !Array.isArray(body)
          ? Object.keys(body).filter((k) => !['flow_token', 'token_id', 'message_id'].includes(k))
          : ['(not an object)'];
      if (
        unknownKeys.length > 0 ||
        typeof token !== 'string' ||
        token.length > 2048 ||
        typeof messageId !== 'string' ||
        messageId.length === 0 ||
        messageId.length > 512
      ) {
        res.status(400).json({ error: 'body must be {"flow_token" or "token_id": "...", "message_id": "wamid..."}' });
        return;
      }
      const recorded = await recordSentMessage(options.knex, tokenIdOf(token), messageId);
      if (!recorded) {
        res.status(404).json({ error: 'no such flow token' });
        return;
      }
      res.status(201).json({ recorded: true });
    },
  );
  router.use('/api/flow-messages', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'body too large' });
    if (typeof type === 'string') return void res.status(400).json({ error: 'body is not valid JSON' });
    options.logger.error('flow-messages API failed', { error: err });
    next(err);
  });
  return router;
}

/**
 * The status a refused notification counts as against its address (RATE_LIMIT_FAILED_PER_IP_PER_MINUTE):
 * a missing or wrong webhook signature (401, 403) counts like the endpoint's signature refusal (432),
 * so an address probing with forged notifications is cut off like one probing the endpoint.
 */
function failedAs(status: number): number {
  return status === 401 || status === 403 ? 432 : status;
}

function send(res: Response, result: WebhookAnswer): void {
  res.status(result.status).type(result.contentType).send(result.body);
}
