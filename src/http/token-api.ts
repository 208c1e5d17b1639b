import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import rateLimit from 'express-rate-limit';
import type { AuditLog } from '../audit';
import type { TokenService } from '../tokens';
import { tokenIdOf } from '../tokens/token-service';
import { errorSummary, type Logger } from '../logging';
import { MemoryCounterStore, SlidingCounterStore, type RateLimiter } from '../ratelimit';
import { bearerMatches } from './bearer';
import { knownErrorReply } from './error-status';
import { checkIssueBody, checkRevokeBody } from './token-api-body';

/**
 * The token API for the business's messaging system: issue a flow token for a phone number before
 * sending the flow message, revoke one or all of a number's tokens. Bearer-key protected; absent
 * entirely (404) when TOKEN_API_KEY is unset. Bodies are checked against strict schemas
 * (src/http/token-api-body.ts): unknown fields and prototype keys are 400, never ignored.
 */
export function tokenApiRouter(options: {
  tokens: TokenService;
  apiKey: string;
  audit: AuditLog;
  logger: Logger;
  /**
   * Requests per address per sliding minute, failed authentications included, counted before the
   * key is checked in the rate limiter's shared store (Redis, PostgreSQL, or memory with PGlite),
   * so the limit holds across workers and instances. Without a rate limiter: this process's memory.
   */
  limit?: { perMinute: number; rateLimiter?: RateLimiter };
}): Router {
  const router = express.Router();
  const perMinute = options.limit?.perMinute ?? 600;
  const limiter = options.limit?.rateLimiter;
  router.use(
    '/api/tokens',
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: new SlidingCounterStore(limiter?.counters ?? new MemoryCounterStore(), {
        prefix: 'token_api:',
        limit: perMinute,
        clock: limiter?.clock,
      }),
      // The counters fail open themselves (src/ratelimit/fail-open.ts).
      passOnStoreError: true,
      handler: (_req: Request, res: Response) => {
        res.status(429).json({ error: 'too many requests to the token API from this address; see Retry-After' });
      },
    }),
    (req: Request, res: Response, next: NextFunction) => {
      if (!bearerMatches(req.get('authorization'), options.apiKey)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer key' });
        return;
      }
      next();
    },
    express.json({ limit: 16 * 1024, strict: true, type: () => true }),
  );

  router.post('/api/tokens', async (req: Request, res: Response) => {
    const checked = checkIssueBody(req.body);
    if (!checked.ok) return badRequest(res, checked.error);
    const { flow_id: flowId, phone, ttl_seconds: ttl } = checked.value;
    try {
      const issued = await options.tokens.issue({ flowId, phone, ttlSeconds: ttl });
      await options.audit.append({
        occurredAt: new Date(),
        kind: 'compliance',
        flowId: issued.flowId,
        outcome: 'token_issued',
        detail: { via: 'api', expires_at: issued.expiresAt.toISOString() },
      });
      res.status(201).json({
        flow_token: issued.token,
        token_id: issued.id,
        flow_id: issued.flowId,
        expires_at: issued.expiresAt.toISOString(),
      });
    } catch (err) {
      const known = knownErrorReply(err);
      if (known) return void res.status(known.status).json(known.body);
      throw err;
    }
  });

  router.post('/api/tokens/revoke', async (req: Request, res: Response) => {
    const checked = checkRevokeBody(req.body);
    if (!checked.ok) return badRequest(res, checked.error);
    const body = checked.value;
    try {
      let revoked: number;
      if ('phone' in body) {
        revoked = await options.tokens.revokeAllFor(body.phone);
      } else {
        const id = tokenIdOf('flow_token' in body ? body.flow_token : body.token_id);
        revoked = (await options.tokens.revoke(id)) ? 1 : 0;
      }
      await options.audit.append({
        occurredAt: new Date(),
        kind: 'compliance',
        outcome: 'token_revoked',
        detail: { via: 'api', revoked },
      });
      res.json({ revoked });
    } catch (err) {
      const known = knownErrorReply(err);
      if (known) return void res.status(known.status).json(known.body);
      throw err;
    }
  });

  router.use('/api/tokens', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') return badRequest(res, 'body is not valid JSON');
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'body too large' });
    if (typeof type === 'string') return badRequest(res, 'unreadable body');
    options.logger.error('token API failed', { error: errorSummary(err) });
    next(err);
  });
  return router;
}

function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: message });
}
