import express, { type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';

/** `/healthz`: the process answers. `/readyz`: it can also reach its database (for load balancers). */
export function healthRouter(knex: Knex): Router {
  const router = express.Router();
  router.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req: Request, res: Response) => {
    try {
      await Promise.race([
        knex.raw('select 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    }
  });
  return router;
}
