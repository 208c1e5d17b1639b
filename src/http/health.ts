import express, { type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';

/** How long `/readyz` waits for `select 1`; a load balancer's probe timeout is usually a few seconds. */
export const READINESS_TIMEOUT_MS = 1000;

/**
 * `/healthz`: liveness, the process answers (never touches the database, so a database outage
 * does not get healthy processes restarted). `/readyz`: readiness, the database answers
 * `select 1` within READINESS_TIMEOUT_MS and the process is not shutting down; else 503.
 */
export function healthRouter(knex: Knex, options: { isDraining?: () => boolean } = {}): Router {
  const router = express.Router();
  router.get('/healthz', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    if (options.isDraining?.()) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        knex.raw('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), READINESS_TIMEOUT_MS);
        }),
      ]);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}
