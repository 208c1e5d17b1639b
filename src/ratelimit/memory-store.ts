import { windowOf, type CounterStore, type WindowCount } from './store';

/**
 * Counters in this process's memory: right for PGlite (one process by construction) and tests.
 * Expired windows are swept as new ones appear, so memory stays bounded by the keys of one window.
 */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  readonly #counts = new Map<string, { count: number; resetAt: number }>();
  #nextSweep = 0;

  async hit(key: string, windowMs: number, amount = 1, at = Date.now()): Promise<WindowCount> {
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, at);
    if (now >= this.#nextSweep) this.#sweep(now);
    const stored = `${key}|${windowMs}|${index}`;
    const entry = this.#counts.get(stored) ?? { count: 0, resetAt };
    entry.count += amount;
    this.#counts.set(stored, entry);
    return { count: entry.count, resetAt };
  }

  async close(): Promise<void> {
    this.#counts.clear();
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#counts) if (entry.resetAt <= now) this.#counts.delete(key);
    this.#nextSweep = now + 1000;
  }
}
