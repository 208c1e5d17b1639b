import express, { type Request, type Response, type Router } from 'express';
import { Registry } from 'prom-client';
import { bearerMatches } from '../crypto';

export interface MetricsRouterOptions {
  /** Produces the exposition text (this process's, or the cluster's merged view). */
  readonly render: () => Promise<string> | string;
  /** When set, `Authorization: Bearer <token>` is required (compared in constant time), else 401. */
  readonly token: string | undefined;
}

/**
 * `GET /metrics`. On the main port it is mounted only when METRICS_TOKEN is set (otherwise the
 * path is a plain 404); on METRICS_PORT it is always mounted and still asks for the token if one is
 * configured. When the exposition cannot be produced (the cluster primary found a worker that does
 * not answer), the scrape gets a 503 and Prometheus marks it failed instead of storing a partial sum.
 */
export function metricsRouter(options: MetricsRouterOptions): Router {
  const router = express.Router();
  router.get('/metrics', async (req: Request, res: Response) => {
    if (options.token !== undefined && !bearerMatches(req.get('authorization'), options.token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer token' });
      return;
    }
    let text: string;
    try {
      text = await options.render();
    } catch {
      res
        .status(503)
        .set('Cache-Control', 'no-store')
        .json({ error: 'metrics unavailable: a cluster worker did not answer in time' });
      return;
    }
    res.status(200).type(Registry.PROMETHEUS_CONTENT_TYPE).set('Cache-Control', 'no-store').send(text);
  });
  return router;
}
