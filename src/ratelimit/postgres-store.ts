import type { Knex } from 'knex';
import { windowOf, type CounterStore, type WindowCount } from './store';

const SWEEP_EVERY_MS = 60_000;

/**
 * Counters in the UNLOGGED table `rate_limit_counters` (migration 20261129000006), shared by every
 * worker and every instance on the same database. One atomic upsert per hit; the window index is
 * in the key, so concurrent first hits of a window race only on the insert, which ON CONFLICT
 * settles. Unlogged: counters are not worth WAL writes, and a crash that empties them is harmless.
 * Expired rows are deleted now and then by whichever process gets there.
 */
export class PostgresCounterStore implements CounterStore {
  readonly kind = 'postgres';
  readonly #knex: Knex;
  #lastSweep = Date.now();
  #sweeping = false;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, now);
    const result = await this.#knex.raw<{ rows: { count: number | string }[] }>(
      `INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (?, 1, ?::timestamptz)
       ON CONFLICT (key) DO UPDATE SET count = rate_limit_counters.count + 1
       RETURNING count`,
      [`${key}|${windowMs}|${index}`, new Date(resetAt).toISOString()],
    );
    if (now - this.#lastSweep > SWEEP_EVERY_MS) this.#sweep(now);
    return { count: Number(result.rows[0]?.count ?? 0), resetAt };
  }

  async close(): Promise<void> {
    // The knex instance belongs to the service, which destroys it.
  }

  #sweep(now: number): void {
    if (this.#sweeping) return;
    this.#sweeping = true;
    this.#lastSweep = now;
    this.#knex('rate_limit_counters')
      .where('expires_at', '<', this.#knex.fn.now())
      .delete()
      .catch(() => undefined)
      .finally(() => {
        this.#sweeping = false;
      });
  }
}
