import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import rateLimit from 'express-rate-limit';
import { errorSummary, type Logger } from '../logging';
import { MemoryCounterStore, SlidingCounterStore, type RateLimiter } from '../ratelimit';
import { bearerMatches } from '../crypto';

/** Largest JSON body the bearer-key APIs read: theirs are a few short fields. */
const BODY_LIMIT_BYTES = 16 * 1024;

export interface BearerApiOptions {
  /** Path prefix the API answers under (e.g. `/api/tokens`). */
  readonly path: string;
  /** What a 429 and the log call it (e.g. "token API"). */
  readonly name: string;
  /** Key prefix of its rate-limit counters (e.g. `token_api:`), apart from every other limit's. */
  readonly counterPrefix: string;
  readonly apiKey: string;
  readonly logger: Logger;
  /**
   * Requests per address per sliding minute, failed authentications included, counted before the
   * key is checked in the rate limiter's shared store (Redis, PostgreSQL, or memory with PGlite),
   * so the limit holds across workers and instances. Without a rate limiter: this process's memory.
   */
  readonly limit?: { readonly perMinute: number; readonly rateLimiter?: RateLimiter };
}

/**
 * The edge every bearer-key API of the business's systems shares (the token API and its consent
 * part): a rate limit per address, the bearer key (401 otherwise), a JSON body of at most 16 KiB,
 * the routes `mount` adds, then body errors as 400/413 with a message that quotes nothing sent.
 */
export function bearerJsonApi(options: BearerApiOptions, mount: (router: Router) => void): Router {
  const router = express.Router();
  const perMinute = options.limit?.perMinute ?? 600;
  const limiter = options.limit?.rateLimiter;
  router.use(
    options.path,
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: new SlidingCounterStore(limiter?.counters ?? new MemoryCounterStore(), {
        prefix: options.counterPrefix,
        limit: perMinute,
        clock: limiter?.clock,
      }),
      // The counters fail open themselves (src/ratelimit/fail-open.ts).
      passOnStoreError: true,
      handler: (_req: Request, res: Response) => {
        res.status(429).json({ error: `too many requests to the ${options.name} from this address; see Retry-After` });
      },
    }),
    (req: Request, res: Response, next: NextFunction) => {
      if (!bearerMatches(req.get('authorization'), options.apiKey)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer key' });
        return;
      }
      next();
    },
    express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true }),
  );
  mount(router);
  router.use(options.path, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') return badRequest(res, 'body is not valid JSON');
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'body too large' });
    if (typeof type === 'string') return badRequest(res, 'unreadable body');
    options.logger.error(`${options.name} failed`, { error: errorSummary(err) });
    next(err);
  });
  return router;
}

export function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: message });
}
