import { windowOf, type CounterStore, type WindowCount } from './store';

/**
 * Counters in this process's memory: right for PGlite (one process by construction) and tests.
 * Windows are swept once the window after them ended, so memory stays bounded by the keys of two windows.
 */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  readonly #counts = new Map<string, { count: number; resetAt: number; windowMs: number }>();
  #nextSweep = 0;

  async hit(key: string, windowMs: number, amount = 1, at = Date.now()): Promise<WindowCount> {
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, at);
    if (now >= this.#nextSweep) this.#sweep(now);
    const stored = `${key}|${windowMs}|${index}`;
    const entry = this.#counts.get(stored) ?? { count: 0, resetAt, windowMs };
    entry.count += amount;
    this.#counts.set(stored, entry);
    const previous = this.#counts.get(`${key}|${windowMs}|${index - 1}`)?.count ?? 0;
    return { count: entry.count, resetAt, previous };
  }

  async close(): Promise<void> {
    this.#counts.clear();
  }

  #sweep(now: number): void {
    // A window's count is still read as the previous one during the next window.
    for (const [key, entry] of this.#counts) {
      if (entry.resetAt + entry.windowMs <= now) this.#counts.delete(key);
    }
    this.#nextSweep = now + 1000;
  }
}
