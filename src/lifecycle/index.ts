import cluster from 'node:cluster';
import type { Config } from '../config';
import { readTlsPair } from '../tls';
import { workerPlan } from './plan';
import { runPrimary } from './primary';
import { runSingle } from './single';
import { runWorker } from './worker';

export { workerPlan, type WorkerPlan } from './plan';
export { installGracefulShutdown, SHUTDOWN_TIMEOUT_MS, type ShutdownTargets } from './shutdown';

/**
 * Runs the process in its role: a cluster worker, the cluster primary (more than one worker), or
 * a single process that serves by itself (PGlite, WEB_CONCURRENCY=1, one core). With TLS files,
 * SIGHUP reloads the certificate (the primary forwards it to its workers) instead of ending the process.
 */
export async function run(config: Config): Promise<void> {
  if (cluster.isWorker) return runWorker(config);
  // An expired or mismatched certificate stops the start here, once, before keys, database or workers.
  if (config.tls) readTlsPair(config.tls);
  const plan = workerPlan(config);
  if (plan.workers > 1) return runPrimary(config, plan.workers, plan.reason);
  return runSingle(config, plan.reason);
}
