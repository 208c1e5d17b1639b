import type { Logger } from '../logging';
import { windowOf, type CounterStore, type WindowCount } from './store';

const WARN_EVERY_MS = 10_000;

/**
 * Rate limiting must never take the endpoint down: when the store fails or is slow, the hit counts
 * as zero (the request goes through) and a warning is logged — at most once per 10 s per store,
 * so an outage does not flood the log.
 */
export class FailOpenStore implements CounterStore {
  readonly #inner: CounterStore;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #onError: (() => void) | undefined;
  #lastWarning = 0;
  #suppressed = 0;

  constructor(inner: CounterStore, logger: Logger, options: { timeoutMs?: number; onError?: () => void } = {}) {
    this.#inner = inner;
    this.#logger = logger;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#onError = options.onError;
  }

  get kind(): CounterStore['kind'] {
    return this.#inner.kind;
  }

  async hit(key: string, windowMs: number, amount?: number, at?: number): Promise<WindowCount> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.#inner.hit(key, windowMs, amount, at),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        }),
      ]);
    } catch (err) {
      this.#failed(err);
      return { count: 0, resetAt: windowOf(windowMs, at).resetAt, previous: 0 };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #failed(err: unknown): void {
    this.#onError?.();
    const now = Date.now();
    if (now - this.#lastWarning < WARN_EVERY_MS) {
      this.#suppressed += 1;
      return;
    }
    this.#logger.warn('rate-limit store failed; letting requests through (fail open)', {
      store: this.#inner.kind,
      error: (err as Error)?.message ?? String(err),
      suppressedSinceLastWarning: this.#suppressed,
    });
    this.#lastWarning = now;
    this.#suppressed = 0;
  }
}
