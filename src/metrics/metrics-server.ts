import type { Server } from 'node:http';
import express from 'express';
import { metricsRouter } from './metrics-router';

/**
 * The separate METRICS_PORT listener: `/metrics` only, everything else 404. Meant for a port that
 * only the scraper can reach; METRICS_TOKEN is still required here when it is set.
 */
export function startMetricsServer(options: {
  host: string;
  port: number;
  token: string | undefined;
  render: () => Promise<string> | string;
}): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRouter({ render: options.render, token: options.token }));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, options.host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
