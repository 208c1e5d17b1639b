import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import rateLimit from 'express-rate-limit';
import type { Knex } from 'knex';
import type { AuditLog } from '../audit';
import { latestPerPurpose, withdrawConsent } from '../consents';
import { MemoryCounterStore, SlidingCounterStore, type RateLimiter } from '../ratelimit';
import { errorSummary, type Logger } from '../logging';
import { normalizePhoneNumber, subjectOf } from '../tokens';
import { bearerMatches } from './bearer';
import { knownErrorReply } from './error-status';

/**
 * The consent part of the token API, for the business's own systems (a "stop" keyword in the
 * chat, a preference centre): withdraw a person's consent to a purpose, or read where their
 * consents stand. Same bearer key as `/api/tokens` (TOKEN_API_KEY), same absence (404) without
 * it. Phone numbers travel in the body, never in the URL (URLs end up in access logs).
 */
export function consentApiRouter(options: {
  knex: Knex;
  audit: AuditLog;
  logger: Logger;
  apiKey: string;
  subjectHashKey: string;
  /** Purposes the registered flows declare; others are refused (400), a typo must not "succeed". */
  purposes: ReadonlySet<string>;
  /**
   * Requests per address per sliding minute, counted before the key is checked, in the rate
   * limiter's shared store as the token API does (src/http/token-api.ts): the limit holds across
   * workers and instances. Without a rate limiter: this process's memory.
   */
  limit?: { perMinute: number; rateLimiter?: RateLimiter };
}): Router {
  const router = express.Router();
  const perMinute = options.limit?.perMinute ?? 600;
  const limiter = options.limit?.rateLimiter;
  router.use(
    '/api/consents',
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: new SlidingCounterStore(limiter?.counters ?? new MemoryCounterStore(), {
        prefix: 'consent_api:',
        limit: perMinute,
        clock: limiter?.clock,
      }),
      // The counters fail open themselves (src/ratelimit/fail-open.ts).
      passOnStoreError: true,
      handler: (_req: Request, res: Response) => {
        res.status(429).json({ error: 'too many requests to the consent API from this address; see Retry-After' });
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

  const subjectOfBody = (res: Response, body: Record<string, unknown>): string | undefined => {
    if (typeof body.phone !== 'string') {
      badRequest(res, 'phone is required (E.164, e.g. "+14155550100")');
      return undefined;
    }
    try {
      return subjectOf(normalizePhoneNumber(body.phone), options.subjectHashKey);
    } catch (err) {
      const known = knownErrorReply(err);
      if (!known) throw err;
      res.status(known.status).json(known.body);
      return undefined;
    }
  };

  router.post('/api/consents/withdraw', async (req: Request, res: Response) => {
    const body = objectBody(req.body, ['phone', 'purpose']);
    if (typeof body === 'string') return badRequest(res, body);
    if (typeof body.purpose !== 'string' || !options.purposes.has(body.purpose)) {
      return badRequest(
        res,
        `purpose must be one the registered flows declare: ${[...options.purposes].sort().join(', ') || '(none)'}`,
      );
    }
    const subjectId = subjectOfBody(res, body);
    if (subjectId === undefined) return;
    const result = await withdrawConsent(options, {
      subjectId,
      purpose: body.purpose,
      source: 'api',
      eventDetail: { via: 'api' },
    });
    if (!result.withdrawn) {
      res.json({ withdrawn: false, purpose: body.purpose, status: result.status });
      return;
    }
    res.status(201).json({
      withdrawn: true,
      purpose: result.record.purpose,
      policy_version: result.record.policyVersion,
      consent_id: result.record.id,
      withdrawn_at: result.record.occurredAt.toISOString(),
    });
  });

  router.post('/api/consents/status', async (req: Request, res: Response) => {
    const body = objectBody(req.body, ['phone']);
    if (typeof body === 'string') return badRequest(res, body);
    const subjectId = subjectOfBody(res, body);
    if (subjectId === undefined) return;
    const latest = await latestPerPurpose(options.knex, subjectId);
    res.json({
      consents: latest.map((r) => ({
        purpose: r.purpose,
        decision: r.decision,
        policy_version: r.policyVersion,
        flow_id: r.flowId,
        since: r.occurredAt.toISOString(),
      })),
    });
  });

  router.use('/api/consents', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') return badRequest(res, 'body is not valid JSON');
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'body too large' });
    if (typeof type === 'string') return badRequest(res, 'unreadable body');
    options.logger.error('consent API failed', { error: errorSummary(err) });
    next(err);
  });
  return router;
}

/** The body as an object with only `allowed` keys, or the message saying what is wrong. */
function objectBody(body: unknown, allowed: readonly string[]): Record<string, unknown> | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return `body must be a JSON object with ${allowed.map((k) => `"${k}"`).join(' and ')}`;
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) return `unknown field(s): ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`;
  return body as Record<string, unknown>;
}

function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: message });
}
