import { availableParallelism } from 'node:os';
import type { Config } from '../config';

export interface WorkerPlan {
  readonly workers: number;
  /** Why this number, for the start-up log line. */
  readonly reason: string;
}

/**
 * How many worker processes to run: WEB_CONCURRENCY when set, else one per core — but only one
 * with the embedded PGlite database, which is single-process by construction (two processes on one
 * data folder corrupt it; in memory, each would have its own empty database).
 */
export function workerPlan(
  config: Pick<Config, 'database' | 'webConcurrency'>,
  cores = availableParallelism(),
): WorkerPlan {
  if (!config.database.url) {
    const asked = config.webConcurrency !== undefined && config.webConcurrency > 1;
    return {
      workers: 1,
      reason: asked
        ? `PGlite is single-process: running 1 worker although WEB_CONCURRENCY=${config.webConcurrency} (set DATABASE_URL for more)`
        : 'PGlite is single-process: running 1 worker (set DATABASE_URL for one per core)',
    };
  }
  if (config.webConcurrency !== undefined) {
    return { workers: config.webConcurrency, reason: `WEB_CONCURRENCY=${config.webConcurrency}` };
  }
  return { workers: Math.max(1, cores), reason: `one per core (${cores})` };
}
