import type { Config } from '../config';
import { createService } from '../service';
import { isMessage, WORKER_SLOT_ENV, type PrimaryToWorker, type WorkerToPrimary } from './messages';
import { listen, portOf, schemeOf } from './serve';
import { installGracefulShutdown } from './shutdown';

const RENDER_TIMEOUT_MS = 2000;

/**
 * A cluster worker: its own service and database pool (DATABASE_POOL_MAX connections), sharing
 * the port through the primary. Metrics: it answers the primary's snapshot requests, and `/metrics`
 * on the main port asks the primary for the whole cluster's view (falling back to its own).
 */
export async function runWorker(config: Config): Promise<void> {
  const slot = process.env[WORKER_SLOT_ENV] ?? '0';
  const pendingRenders = new Map<number, (text: string) => void>();
  let renderSeq = 0;
  const send = (message: WorkerToPrimary): void => {
    if (process.connected) process.send?.(message);
  };

  const service = await createService(config, {
    migrate: false,
    renderMetrics: () =>
      new Promise<string>((resolve) => {
        const id = ++renderSeq;
        const timer = setTimeout(() => {
          pendingRenders.delete(id);
          resolve(`# the cluster primary did not answer: metrics of worker ${slot} only\n${service.metrics.render()}`);
        }, RENDER_TIMEOUT_MS);
        pendingRenders.set(id, (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        send({ fg: 'metrics:render', id });
      }),
  });
  service.metrics.workerSlot = slot;
  const { logger } = service;

  process.on('message', (message: unknown) => {
    if (!isMessage<PrimaryToWorker>(message)) return;
    if (message.fg === 'metrics:collect') {
      send({ fg: 'metrics:snapshot', id: message.id, snapshot: service.metrics.snapshot() });
    } else if (message.fg === 'metrics:text') {
      const done = pendingRenders.get(message.id);
      pendingRenders.delete(message.id);
      done?.(message.text);
    }
  });

  const server = await listen(service);
  installGracefulShutdown({
    server,
    logger,
    markDraining: () => service.markDraining(),
    close: () => service.close(),
  });
  // The primary exiting (even by SIGKILL) must not leave an orphan serving on the port.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  logger.info(`worker ${slot} listening on ${schemeOf(config)}://${config.host}:${portOf(server, config.port)}`, {
    pid: process.pid,
    database: service.database.kind,
    poolMax: config.database.poolMax,
    rateLimitStore: service.rateLimiter.storeKind,
  });
  send({ fg: 'ready' });
}
