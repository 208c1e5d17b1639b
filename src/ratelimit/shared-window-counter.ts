import { windowOf, type CounterStore } from './store';

/** How often a process sends the hits it counted locally to the shared store. */
export const DEFAULT_SYNC_MS = 50;

/**
 * One fixed-window counter (the global ceiling) decided locally and shared in the background.
 *
 * `take()` answers at once from what this process knows: the shared count as of its last sync plus
 * its own hits since. Every `syncMs` the hits counted here are added to the shared store in one
 * statement, and its answer — everyone's hits — becomes the new shared count. So a request never
 * waits on the store (a round trip per request was 7% of a worker's CPU under load, and a wait
 * on one hot row), and with N processes the ceiling can be overshot by at most what the other
 * N − 1 admit in one sync interval. One process alone (or the memory store) counts exactly.
 */
export class SharedWindowCounter {
  readonly #store: CounterStore;
  readonly #key: string;
  readonly #windowMs: number;
  readonly #syncMs: number;
  /** Index of the window the fields below describe. */
  #window = -1;
  /** The shared count at the last sync (this process's synced hits included). */
  #shared = 0;
  /** Hits sent in the sync now in flight, not yet in `#shared`. */
  #sending = 0;
  /** Hits counted here since the last sync began. */
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  #flight: Promise<void> | undefined;

  constructor(store: CounterStore, key: string, windowMs: number, syncMs = DEFAULT_SYNC_MS) {
    this.#store = store;
    this.#key = key;
    this.#windowMs = windowMs;
    this.#syncMs = syncMs;
  }

  /** Counts one hit; true while the window's count, this hit included, is within `limit`. */
  take(limit: number, now = Date.now()): boolean {
    const { index } = windowOf(this.#windowMs, now);
    if (index !== this.#window) {
      // A new window: what was counted in the last one no longer decides anything here.
      this.#window = index;
      this.#shared = 0;
      this.#sending = 0;
      this.#pending = 0;
    }
    this.#pending += 1;
    this.#timer ??= setTimeout(() => this.#sync(), this.#syncMs).unref();
    return this.#shared + this.#sending + this.#pending <= limit;
  }

  /** Sends what is pending now (shutdown, tests) and stops the timer. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flight;
    if (this.#pending > 0) this.#sync();
    await this.#flight;
  }

  #sync(): void {
    this.#timer = undefined;
    if (this.#flight || this.#pending === 0) {
      // One statement at a time; hits counted meanwhile go in the next one.
      if (this.#pending > 0) this.#timer = setTimeout(() => this.#sync(), this.#syncMs).unref();
      return;
    }
    const window = this.#window;
    const amount = this.#pending;
    this.#pending = 0;
    this.#sending = amount;
    // The window's start: the hits land in the window they were counted in.
    const at = window * this.#windowMs;
    this.#flight = this.#store.hit(this.#key, this.#windowMs, amount, at).then(
      ({ count }) => this.#settle(window, count),
      // The store fails open (FailOpenStore); should it not, the hits are simply not shared.
      () => this.#settle(window, 0),
    );
  }

  #settle(window: number, count: number): void {
    this.#flight = undefined;
    if (window !== this.#window) return;
    // Counts only grow within a window; a failed or fail-open sync (count 0) must not lower it.
    this.#shared = Math.max(this.#shared + this.#sending, count);
    this.#sending = 0;
  }
}
