import { FlowgateError } from '../errors';

/** A request waited longer than its limit for the requests of its token ahead of it. */
export class TokenQueueWaitError extends FlowgateError {
  constructor(readonly waitedMs: number) {
    super('token_queue_wait', `waited ${waitedMs} ms for earlier requests of the same flow token`);
  }
}

/**
 * Runs the requests of one flow token one after another within this process, in arrival order,
 * without holding anything but a promise while they wait: no database connection, no row lock.
 * WhatsApp sends one user's requests one at a time, but a retry may overlap the original; queued
 * here, the second runs once on the session the first left, instead of running its handler on a
 * stale session and being sent back to run again (src/endpoint/session-step.ts). Across processes the
 * guarded session write is what keeps requests of one token in order.
 */
export class TokenQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Runs `work` once every earlier `run` of `key` has finished. With `maxWaitMs`, gives up with
   * TokenQueueWaitError when that takes longer (the ones behind it still wait for the ones ahead).
   */
  async run<T>(key: string, work: () => Promise<T>, maxWaitMs?: number): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => done);
    this.#tails.set(key, tail);
    // The last in line removes the key, so the map holds only tokens with requests in flight.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    try {
      if (maxWaitMs === undefined) await before;
      else if (!(await settlesWithin(before, maxWaitMs))) throw new TokenQueueWaitError(maxWaitMs);
      return await work();
    } finally {
      release();
    }
  }

  /** Tokens with a request running or waiting (for tests and metrics). */
  get size(): number {
    return this.#tails.size;
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
