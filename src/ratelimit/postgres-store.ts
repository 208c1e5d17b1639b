import type { Knex } from 'knex';
import { windowOf, type CounterStore, type WindowCount } from './store';

const SWEEP_EVERY_MS = 60_000;

/**
 * Counters in the UNLOGGED table `rate_limit_counters` (migration 20261129000006), shared by every
 * worker and every instance on the same database. One atomic upsert per hit; the window index is
 * in the key, so concurrent first hits of a window race only on the insert, which ON CONFLICT
 * settles; the same statement reads the window before (a sliding window's other half). Unlogged: counters are not worth WAL writes, and a crash that empties them is harmless.
 * Expired rows are deleted now and then by whichever process gets there.
 */
export class PostgresCounterStore implements CounterStore {
  readonly kind = 'postgres';
  readonly #knex: Knex;
  #lastSweep = Date.now();
  #sweeping = false;
  readonly #inFlight = new Set<string>();
  readonly #waiting = new Map<
    string,
    {
      resetAt: number;
      windowMs: number;
      previousKey: string;
      waiters: { amount: number; resolve: (c: WindowCount) => void; reject: (e: unknown) => void }[];
    }
  >();

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /**
   * Hits of one counter that arrive while its upsert is in flight join the next upsert, which adds
   * them all at once (`count + n`, n the sum of their amounts); each caller still gets its exact
   * count. A flood of failing requests from one address would otherwise cost each a round trip and
   * a wait on that counter's row lock.
   */
  hit(key: string, windowMs: number, amount = 1, at = Date.now()): Promise<WindowCount> {
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, at);
    const stored = `${key}|${windowMs}|${index}`;
    if (now - this.#lastSweep > SWEEP_EVERY_MS) this.#sweep(now);
    return new Promise<WindowCount>((resolve, reject) => {
      let batch = this.#waiting.get(stored);
      if (!batch) {
        batch = { resetAt, windowMs, previousKey: `${key}|${windowMs}|${index - 1}`, waiters: [] };
        this.#waiting.set(stored, batch);
      }
      batch.waiters.push({ amount, resolve, reject });
      if (!this.#inFlight.has(stored)) this.#send(stored);
    });
  }

  #send(stored: string): void {
    const batch = this.#waiting.get(stored);
    if (!batch) return;
    this.#waiting.delete(stored);
    this.#inFlight.add(stored);
    const n = batch.waiters.reduce((sum, w) => sum + w.amount, 0);
    this.#knex
      .raw<{ rows: { count: number | string; previous: number | string | null }[] }>(
        // The row outlives its window by one more window: the next window reads it as `previous`.
        `WITH up AS (
           INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (?, ?, ?::timestamptz)
           ON CONFLICT (key) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
           RETURNING count
         )
         SELECT up.count, (SELECT count FROM rate_limit_counters WHERE key = ?) AS previous FROM up`,
        [stored, n, new Date(batch.resetAt + batch.windowMs).toISOString(), batch.previousKey],
      )
      .then(
        (result) => {
          const total = Number(result.rows[0]?.count ?? 0);
          const previous = Number(result.rows[0]?.previous ?? 0);
          let count = total - n;
          for (const w of batch.waiters) {
            count += w.amount;
            w.resolve({ count, resetAt: batch.resetAt, previous });
          }
        },
        (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.#inFlight.delete(stored);
        if (this.#waiting.has(stored)) this.#send(stored);
      });
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
