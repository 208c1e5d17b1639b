import type { Config } from '../config';
import { answerClusterCollection } from '../metrics';
import { createService } from '../service';
import { isMessage, WORKER_SLOT_ENV, type PrimaryToWorker, type WorkerToPrimary } from './messages';
import { listen, portOf, schemeOf } from './serve';
import { installGracefulShutdown } from './shutdown';

const RENDER_TIMEOUT_MS = 2000;

/**
 * A cluster worker: its own service and database pool (DATABASE_POOL_MAX connections), sharing
 * the port through the primary. Metrics: it answers the primary's collection requests
 * (src/metrics/cluster.ts), and `/metrics` on the main port asks the primary for the whole
 * cluster's view (falling back to its own).
 */
export async function runWorker(config: Config): Promise<void> {
  // Before anything slow: a scrape while this worker starts then gets an empty answer, not a timeout.
  answerClusterCollection();
  const slot = process.env[WORKER_SLOT_ENV] ?? '0';
  const pendingRenders = new Map<number, (text: string) => void>();
  let renderSeq = 0;
  const send = (message: WorkerToPrimary): void => {
    if (process.connected) process.send?.(message);
  };

  const service = await createService(config, {
    migrate: false,
    renderMetrics: () =>
      new Promise<string>((resolve, reject) => {
        const id = ++renderSeq;
        const timer = setTimeout(() => {
          pendingRenders.delete(id);
          service.metrics
            .render()
            .then(
              (own) => resolve(`# the cluster primary did not answer: metrics of worker ${slot} only\n${own}`),
              reject,
            );
        }, RENDER_TIMEOUT_MS);
        pendingRenders.set(id, (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        send({ fg: 'metrics:render', id });
      }),
    workerSlot: slot,
  });
  answerClusterCollection(service.metrics.registries);
  const { logger } = service;

  process.on('message', (message: unknown) => {
    if (!isMessage<PrimaryToWorker>(message)) return;
    const done = pendingRenders.get(message.id);
    pendingRenders.delete(message.id);
    done?.(message.text);
  });

  const server = await listen(service);
  service.metrics.workers.set(1);
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
