import type { Server } from 'node:http';
import express from 'express';
import { createListener, type TlsFiles, type TlsReloadLogger } from '../tls';
import { metricsRouter } from './metrics-router';

/**
 * The separate METRICS_PORT listener: `/metrics` only, everything else 404. Meant for a port that
 * only the scraper can reach; METRICS_TOKEN is still required here when it is set. With TLS files
 * it serves HTTPS like the main port (the bearer token must not cross a network in clear).
 */
export function startMetricsServer(options: {
  host: string;
  port: number;
  token: string | undefined;
  render: () => Promise<string> | string;
  tls?: TlsFiles;
  logger?: TlsReloadLogger;
}): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRouter({ render: options.render, token: options.token }));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  const { server } = createListener(app, { tls: options.tls, logger: options.logger });
  return new Promise((resolve, reject) => {
    server.listen(options.port, options.host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
