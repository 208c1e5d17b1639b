import type { NextFunction, Request, RequestHandler, Response } from 'express';
import rateLimit, { type IncrementResponse, type Store } from 'express-rate-limit';
import type { Config } from '../config';
import { statusOf } from '../http/error-status';
import type { Logger } from '../logging';
import type { FlowgateMetrics } from '../metrics';
import { RateLimitedError } from '../protocol';
import type { CounterStore } from './store';

/** Statuses that count as a failed request from an address (the task's list; 427/429/5xx do not). */
export const FAILED_STATUSES: ReadonlySet<number> = new Set([400, 404, 413, 415, 421, 432]);

const MINUTE = 60_000;
const SECOND = 1000;
const MAX_BLOCKED_ADDRESSES = 100_000;

export interface RateLimiterOptions {
  /** Shared counters; wrap in FailOpenStore so a store failure lets requests through. */
  readonly store: CounterStore;
  readonly limits: Config['rateLimits'];
  readonly logger: Logger;
  readonly metrics?: FlowgateMetrics;
}

/**
 * Three layers, designed around WhatsApp's servers being the only legitimate caller — a plain
 * per-address limit on all traffic would throttle every user behind those few addresses:
 *
 * 1. Per flow token (after decryption and token verification, in the dispatcher): answered in
 *    protocol terms, HTTP 200 with an encrypted error on the current screen.
 * 2. Failed requests per source address (400, 404, 413, 415, 421, 432): once an address reached
 *    RATE_LIMIT_FAILED_PER_IP_PER_MINUTE failures in the current minute, its requests get 429
 *    until the minute ends. Only failures touch the store; the check itself is a local lookup,
 *    so legitimate traffic pays nothing. With several workers, each learns of the block at that
 *    address's next failure it sees (the shared count is already over), so at most one extra
 *    failure per worker slips through.
 * 3. A global ceiling (RATE_LIMIT_GLOBAL_PER_SECOND) through express-rate-limit on the shared
 *    store: 429 for everyone past it, to shed load before any RSA work.
 */
export class RateLimiter {
  readonly #store: CounterStore;
  readonly #limits: Config['rateLimits'];
  readonly #logger: Logger;
  readonly #metrics: FlowgateMetrics | undefined;
  readonly #blockedUntil = new Map<string, number>();
  readonly #global: RequestHandler;

  constructor(options: RateLimiterOptions) {
    this.#store = options.store;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#global = rateLimit({
      windowMs: SECOND,
      limit: this.#limits.globalPerSecond,
      keyGenerator: () => 'global',
      store: new ExpressRateLimitStore(this.#store, SECOND),
      standardHeaders: false,
      legacyHeaders: false,
      passOnStoreError: true,
      validate: false,
      handler: (_req: Request, res: Response) => this.#refuse(res, 'global', 1),
    });
  }

  get storeKind(): CounterStore['kind'] {
    return this.#store.kind;
  }

  /** Layer 1: false when this token made more than its share of requests this minute. */
  async allowToken(tokenId: string): Promise<boolean> {
    const { count } = await this.#store.hit(`token:${tokenId}`, MINUTE);
    return count <= this.#limits.perTokenPerMinute;
  }

  /** Layers 2 and 3 as one middleware for the flow route, run before the body is read. */
  readonly edge: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const until = this.#blockedUntil.get(addressOf(req));
    if (until !== undefined) {
      const now = Date.now();
      if (until > now) return this.#refuse(res, 'failed_per_ip', Math.ceil((until - now) / 1000));
      this.#blockedUntil.delete(addressOf(req));
    }
    return this.#global(req, res, next);
  };

  /** Layer 2's counting: called with every flow-route answer; only failures reach the store. */
  async recordOutcome(address: string | undefined, status: number): Promise<void> {
    if (!FAILED_STATUSES.has(status)) return;
    const key = address ?? 'unknown';
    const { count, resetAt } = await this.#store.hit(`failed:${key}`, MINUTE);
    if (count >= this.#limits.failedPerIpPerMinute) {
      if (!this.#blockedUntil.has(key)) {
        this.#logger.warn('too many failed requests from one address; refusing it until the minute ends', {
          failed: count,
          until: new Date(resetAt).toISOString(),
        });
      }
      if (this.#blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.#sweep();
      this.#blockedUntil.set(key, resetAt);
    }
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #refuse(res: Response, scope: 'failed_per_ip' | 'global', retryAfterSeconds: number): void {
    this.#metrics?.rateLimited.inc({ layer: scope });
    res.status(statusOf(new RateLimitedError(scope)));
    res.set('Retry-After', String(Math.max(1, retryAfterSeconds)));
    res.type('text/plain').send('');
  }

  #sweep(): void {
    const now = Date.now();
    for (const [k, until] of this.#blockedUntil) if (until <= now) this.#blockedUntil.delete(k);
    if (this.#blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.#blockedUntil.clear();
  }
}

function addressOf(req: Request): string {
  return req.ip ?? 'unknown';
}

/** express-rate-limit's Store interface over our fixed-window counters. */
class ExpressRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix = 'erl:';

  constructor(
    private readonly store: CounterStore,
    private readonly windowMs: number,
  ) {}

  async increment(key: string): Promise<IncrementResponse> {
    const { count, resetAt } = await this.store.hit(`${this.prefix}${key}`, this.windowMs);
    return { totalHits: count, resetTime: new Date(resetAt) };
  }

  decrement(): void {
    // Not used: no skipSuccessfulRequests/skipFailedRequests.
  }

  resetKey(): void {
    // Fixed windows expire on their own.
  }
}
