import type { Server } from 'node:http';
import type { Config } from '../config';
import { startConsole } from '../console';
import { startMetricsServer } from '../metrics';
import { createService } from '../service';
import { listen, portOf, schemeOf } from './serve';
import { installGracefulShutdown } from './shutdown';

/** One process serving everything: PGlite, WEB_CONCURRENCY=1, or a single core. */
export async function runSingle(config: Config, reason: string): Promise<void> {
  const service = await createService(config);
  const { logger } = service;
  const server = await listen(service);
  const extraServers: Server[] = [];
  if (config.metricsPort !== undefined) {
    const metricsServer = await startMetricsServer({
      host: config.host,
      port: config.metricsPort,
      token: config.metricsToken?.reveal(),
      render: () => service.metrics.render(),
      tls: config.tls,
      logger,
    });
    extraServers.push(metricsServer);
    logger.info(`metrics on ${schemeOf(config)}://${config.host}:${portOf(metricsServer, config.metricsPort)}/metrics`);
  }
  if (config.console.port !== undefined) {
    // With PGlite the console shares the service's one connection (switching role per read).
    const consoleServer = await startConsole({ config, logger, shared: service.database.knex });
    extraServers.push(consoleServer.server);
    logger.info(`compliance console on http://${config.host}:${consoleServer.port}/`);
  }
  logger.info(`flowgate listening on ${schemeOf(config)}://${config.host}:${portOf(server, config.port)}`, {
    flows: [...service.registry.keys()].map((id) => `/flows/${id}`),
    database: service.database.kind,
    rateLimitStore: service.rateLimiter.storeKind,
    workers: 1,
    why: reason,
    pid: process.pid,
  });
  service.metrics.workers.set(1);
  installGracefulShutdown({
    server,
    logger,
    markDraining: () => service.markDraining(),
    close: () => service.close(),
    extraServers,
  });
}
