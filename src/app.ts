import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { AuditLog } from './audit';
import type { Dispatcher } from './endpoint';
import { flowRouter, healthRouter, knownErrorReply, securityMiddleware, statusOf, tokenApiRouter } from './http';
import { errorSummary, type Logger } from './logging';
import type { RateLimiter } from './ratelimit';
import type { TokenService } from './tokens';

export interface AppDeps {
  readonly dispatcher: Dispatcher;
  readonly knex: Knex;
  readonly logger: Logger;
  readonly audit: AuditLog;
  readonly tokens: TokenService;
  readonly bodyLimitBytes: number;
  readonly tokenApiKey: string | undefined;
  /** Token API requests per address per sliding minute, counted in the rate limiter's shared store. */
  readonly tokenApiPerMinute?: number;
  readonly trustProxy: boolean | number;
  /** Edge rate limits (failed requests per address, global ceiling) and per-token counting. */
  readonly rateLimiter?: RateLimiter;
  /** True once shutdown began: /readyz answers 503. */
  readonly isDraining?: () => boolean;
  /** Extra routes mounted before the 404 handler (e.g. metrics). */
  readonly extraRouters?: readonly express.Router[];
}

/** Express wiring only; every decision lives in the dispatcher and the routers it mounts. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use(securityMiddleware);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    const id = randomUUID();
    res.locals.requestId = id;
    res.set('X-Request-Id', id);
    next();
  });
  app.use(healthRouter(deps.knex, { isDraining: deps.isDraining }));
  app.use(flowRouter(deps.dispatcher, deps.bodyLimitBytes, deps.rateLimiter));
  if (deps.tokenApiKey) {
    app.use(
      tokenApiRouter({
        tokens: deps.tokens,
        apiKey: deps.tokenApiKey,
        logger: deps.logger,
        limit: { perMinute: deps.tokenApiPerMinute ?? 600, rateLimiter: deps.rateLimiter },
      }),
    );
  }
  for (const router of deps.extraRouters ?? []) app.use(router);
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // Last resort: a typed error with a status below 500 answers as the error catalogue says
  // (src/errors/catalogue.ts); anything else its catalogue status (500 when it has none), a
  // generic body and a log line with the request id: never a stack, key, message or user data.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = knownErrorReply(err);
    if (known) {
      res.status(known.status).json(known.body);
      return;
    }
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'bad request' });
      return;
    }
    deps.logger.error('unhandled error', { requestId: res.locals.requestId, error: errorSummary(err) });
    res.status(statusOf(err)).json({ error: 'internal error', request_id: res.locals.requestId });
  });
  return app;
}
