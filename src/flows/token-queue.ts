/**
 * Runs the requests of one flow token one after another within this process, in arrival order,
 * without holding anything but a promise while they wait: no database connection, no row lock.
 * WhatsApp sends one user's requests one at a time, but a retry may overlap the original; queued
 * here, the second runs once on the session the first left, instead of running its handler on a
 * stale session and being sent back to run again (src/flows/dispatcher.ts). Across processes the
 * guarded session write is what keeps requests of one token in order.
 */
export class TokenQueue {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => done);
    this.#tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      // The last in line removes the key, so the map holds only tokens with requests in flight.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Tokens with a request running or waiting (for tests and metrics). */
  get size(): number {
    return this.#tails.size;
  }
}
