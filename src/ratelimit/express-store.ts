import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { slidingCount, slidingFreeAt } from './sliding-window';
import type { CounterStore } from './store';

/**
 * express-rate-limit's store interface over flowgate's counter stores, so a limit built with
 * express-rate-limit (headers, 429 answer, key per address) counts in Redis or PostgreSQL — shared by
 * every worker and instance — and in a sliding window instead of express-rate-limit's own
 * per-process fixed window.
 *
 * `totalHits` is the sliding estimate (src/ratelimit/sliding-window.ts), which express-rate-limit
 * compares with its limit; `resetTime` is when the next request would be let through again, which
 * becomes `Retry-After` and the RateLimit header's reset (while let through: when everything counted has slid out). Counted in `clock()` time (tests move it),
 * reported in real time, which express-rate-limit uses for the headers.
 */
export class SlidingCounterStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #counters: CounterStore;
  readonly #clock: () => number;
  #windowMs = 60_000;
  #limit = 1;

  constructor(counters: CounterStore, options: { prefix: string; limit: number; clock?: () => number }) {
    this.#counters = counters;
    this.prefix = options.prefix;
    this.#limit = options.limit;
    this.#clock = options.clock ?? Date.now;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    return this.#count(key, 1);
  }

  async decrement(key: string): Promise<void> {
    await this.#count(key, -1);
  }

  /** Counters only expire; a reset is never needed by the routes that use this store. */
  resetKey(): void {}

  async #count(key: string, amount: number): Promise<ClientRateLimitInfo> {
    const at = this.#clock();
    const counted = await this.#counters.hit(`${this.prefix}${key}`, this.#windowMs, amount, at);
    const totalHits = slidingCount(counted, this.#windowMs, at);
    // Refused: when one more request will be let through. Let through: when everything counted so
    // far has slid out of the window.
    const resetAt =
      totalHits > this.#limit
        ? slidingFreeAt(counted, this.#windowMs, this.#limit, at)
        : counted.count > 0
          ? counted.resetAt + this.#windowMs
          : counted.resetAt;
    return { totalHits, resetTime: new Date(Date.now() + Math.max(resetAt - at, 1000)) };
  }
}
