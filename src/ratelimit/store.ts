/** One fixed-window counter: how many hits this key has in the current window, and when it ends. */
export interface WindowCount {
  readonly count: number;
  /** Epoch milliseconds at which the window ends. */
  readonly resetAt: number;
  /**
   * The key's count in the window before (0 when none): with `count`, what a sliding window is
   * estimated from (src/ratelimit/sliding-window.ts). Stores keep each window's counter one extra
   * window for this.
   */
  readonly previous: number;
}

/**
 * Where rate-limit counters live. Every implementation counts in fixed windows: the window index
 * is part of the key, so a counter never needs resetting, only expiring.
 */
export interface CounterStore {
  readonly kind: 'memory' | 'postgres' | 'redis';
  /**
   * Adds `amount` hits (default 1) to `key` in the window of `windowMs` that contains `at` (default
   * now) and returns the new count, with the count of the window before. `at` lets a batch of hits counted locally land in the window
   * they happened in, even when the batch is sent just after that window ended.
   */
  hit(key: string, windowMs: number, amount?: number, at?: number): Promise<WindowCount>;
  close(): Promise<void>;
}

/** The window `now` falls in: its index (part of the stored key) and its end. */
export function windowOf(windowMs: number, now = Date.now()): { index: number; resetAt: number } {
  const index = Math.floor(now / windowMs);
  return { index, resetAt: (index + 1) * windowMs };
}
