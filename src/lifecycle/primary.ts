import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { Config } from '../config';
import { createLogger } from '../logging';
import { startConsole } from '../console';
import { ClusterMetrics, startMetricsServer } from '../metrics';
import { loadKeys } from '../service';
import { openDatabase } from '../storage';
import { isMessage, WORKER_SLOT_ENV, type PrimaryToWorker, type WorkerToPrimary } from './messages';
import { portOf, schemeOf } from './serve';
import { SHUTDOWN_TIMEOUT_MS } from './shutdown';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A worker that ran this long resets the backoff: its crash was not a crash loop. */
const STABLE_AFTER_MS = 60_000;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  startedAt: number;
  ready: boolean;
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * The cluster primary: serves no requests. It migrates the database once (workers then skip it,
 * so they never race for knex's migration lock), forks one worker per slot, restarts a worker that
 * exits unexpectedly (exponential backoff per slot: 0.5 s doubling to 30 s, reset after a minute
 * of uptime), forwards SIGTERM/SIGINT to the workers and exits when they are all gone. A worker
 * that dies before it ever listened means a start-up problem (config, key, database): the primary
 * stops everything and exits 1 instead of restarting in a loop. It also owns METRICS_PORT and
 * answers the workers' requests for the cluster's view of the metrics (src/metrics/cluster.ts).
 */
export async function runPrimary(config: Config, workers: number, reason: string): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  loadKeys(config, logger);
  // Migrate once, here; a failure is a start-up failure like any other.
  const database = await openDatabase(config.database, { migrate: true });
  await database.close();

  const slots: Slot[] = Array.from({ length: workers }, (_, index) => ({
    index,
    worker: undefined,
    startedAt: 0,
    ready: false,
    crashes: 0,
    restartTimer: undefined,
  }));
  let everReady = false;
  let stopping = false;
  let exitCode = 0;
  const metrics = new ClusterMetrics();
  const renderCluster = (): Promise<string> => metrics.render();

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot.index) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isMessage<WorkerToPrimary>(message)) return;
      if (message.fg === 'ready') {
        slot.ready = true;
        everReady = true;
        if (slots.every((s) => s.ready)) logger.info(`all ${workers} workers listening`, { pid: process.pid });
      } else if (message.fg === 'metrics:render') {
        // Unanswered on failure: the worker then serves its own metrics after its own timeout.
        renderCluster().then(
          (text) => {
            const reply: PrimaryToWorker = { fg: 'metrics:text', id: message.id, text };
            if (worker.isConnected()) worker.send(reply);
          },
          (error: unknown) => logger.warn("collecting the workers' metrics failed", { error }),
        );
      }
    });
    worker.on('exit', (code, signal) => {
      slot.worker = undefined;
      slot.ready = false;
      if (stopping) {
        if (code !== 0) exitCode = 1;
        if (slots.every((s) => !s.worker)) finish();
        return;
      }
      if (!everReady) {
        logger.error('a worker failed to start; stopping', { slot: slot.index, code, signal });
        exitCode = 1;
        stop('start-up failure');
        return;
      }
      if (Date.now() - slot.startedAt > STABLE_AFTER_MS) slot.crashes = 0;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** slot.crashes);
      slot.crashes += 1;
      metrics.workerRestarts.inc();
      logger.error(`worker ${slot.index} exited unexpectedly; restarting in ${delay} ms`, {
        pid: worker.process.pid,
        code,
        signal,
      });
      slot.restartTimer = setTimeout(() => fork(slot), delay);
    });
  };

  let metricsServer: Server | undefined;
  const finish = (): void => {
    const done = (): void => {
      logger.info('all workers stopped', { pid: process.pid, code: exitCode });
      process.exit(exitCode);
    };
    if (!metricsServer) return done();
    metricsServer.close(done);
    metricsServer.closeAllConnections(); // a scraper's keep-alive socket must not hold the exit
  };

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping ${workers} workers`, { pid: process.pid });
    for (const slot of slots) clearTimeout(slot.restartTimer);
    const live = slots.filter((s) => s.worker);
    if (live.length === 0) return finish();
    for (const slot of live) slot.worker?.process.kill('SIGTERM');
    // Workers bound their own shutdown; this bound covers a worker that hangs anyway.
    setTimeout(() => {
      logger.error('workers did not stop in time; killing them', { pid: process.pid });
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      exitCode = 1;
    }, SHUTDOWN_TIMEOUT_MS + 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (config.tls) {
    // Each worker holds its own TLS context: the reload must reach them all. Only workers that
    // listen have their SIGHUP handler; one still starting reads the files itself anyway.
    process.on('SIGHUP', () => {
      for (const slot of slots) if (slot.ready) slot.worker?.process.kill('SIGHUP');
    });
  }

  if (config.metricsPort !== undefined) {
    metricsServer = await startMetricsServer({
      host: config.host,
      port: config.metricsPort,
      token: config.metricsToken?.reveal(),
      render: renderCluster,
      tls: config.tls,
      logger,
    });
    logger.info(
      `metrics of all workers on ${schemeOf(config)}://${config.host}:${portOf(metricsServer, config.metricsPort)}/metrics`,
    );
  }
  if (config.console.port !== undefined) {
    // The primary serves no flow requests: the console runs here, once, with its own small pool.
    const consoleServer = await startConsole({ config, logger });
    logger.info(`compliance console on http://${config.host}:${consoleServer.port}/`);
  }
  logger.info(`flowgate primary starting ${workers} workers (${reason})`, {
    pid: process.pid,
    port: config.port,
    database: 'postgres',
    poolMaxPerWorker: config.database.poolMax,
    connectionsAtMost: workers * config.database.poolMax,
  });
  slots.forEach(fork);
}
