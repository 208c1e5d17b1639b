import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../logging';
import { FailOpenStore } from './fail-open';
import { MemoryCounterStore } from './memory-store';
import { PostgresCounterStore } from './postgres-store';
import { RedisCounterStore } from './redis-store';
import type { CounterStore } from './store';

/**
 * Picks where counters live: Redis when REDIS_URL is set, else PostgreSQL when DATABASE_URL is set
 * (shared by every worker and instance), else this process's memory (PGlite runs one process).
 * Whatever the choice, it is wrapped to fail open.
 */
export function createCounterStore(
  config: Pick<Config, 'redisUrl' | 'database'>,
  deps: { knex: Knex; logger: Logger; onError?: () => void },
): CounterStore {
  let inner: CounterStore;
  if (config.redisUrl) {
    // Keyed by schema: two deployments sharing a Redis (or test runs) never share counters.
    inner = new RedisCounterStore(config.redisUrl.reveal(), { prefix: `flowgate:${config.database.schema}:rl:` });
  } else if (config.database.url) inner = new PostgresCounterStore(deps.knex);
  else inner = new MemoryCounterStore();
  return new FailOpenStore(inner, deps.logger, { onError: deps.onError });
}
