import type { Config } from '../config';
import type { Logger } from '../logging';
import type { FlowgateMetrics } from '../metrics';
import type { EdgeRefusal } from './edge-refusal';
import type { RefusalAudit } from './refusal-audit';
import { SharedWindowCounter } from './shared-window-counter';
import { slidingCount, slidingFreeAt } from './sliding-window';
import type { CounterStore } from './store';

/**
 * Statuses that count as a failed request from an address (427, 429 and 503 do not). 500 counts:
 * it is a bug (a handler failing where no screen can carry the error), and an address that keeps
 * triggering it is refused like one that keeps sending garbage (issue 13).
 */
export const FAILED_STATUSES: ReadonlySet<number> = new Set([400, 404, 413, 415, 421, 432, 500]);

const MINUTE = 60_000;
const SECOND = 1000;
const MAX_BLOCKED_ADDRESSES = 100_000;

export interface RateLimiterOptions {
  /** Shared counters; wrap in FailOpenStore so a store failure lets requests through. */
  readonly store: CounterStore;
  readonly limits: Config['rateLimits'];
  readonly logger: Logger;
  readonly metrics?: FlowgateMetrics;
  /** How often the global ceiling's local count is shared (default 50 ms). */
  readonly syncMs?: number;
  /** Where 429s at the edge are summarised for the audit log (src/ratelimit/refusal-audit.ts). */
  readonly refusals?: RefusalAudit;
  /** The time the per-address windows are reckoned in (default Date.now; tests move it). */
  readonly clock?: () => number;
}

export type { EdgeRefusal } from './edge-refusal';

/**
 * Three layers, designed around WhatsApp's servers being the only legitimate caller — a plain
 * per-address limit on all traffic would throttle every user behind those few addresses:
 *
 * 1. Per flow token (after decryption and token verification, in the dispatcher): answered in
 *    protocol terms, HTTP 200 with an encrypted error on the current screen. Counted in the
 *    token's session row, not here (src/endpoint/session-step.ts, countRequest).
 * 2. Failed requests per source address (400, 404, 413, 415, 421, 432, 500): once an address reached
 *    RATE_LIMIT_FAILED_PER_IP_PER_MINUTE failures in a sliding minute (src/ratelimit/sliding-window.ts;
 *    no fresh allowance on the clock minute), its requests get 429 until enough of those failures
 *    have slid out that one more would be within the limit. Only failures touch the store; the check itself is a local lookup,
 *    so legitimate traffic pays nothing. With several workers, each learns of the block at that
 *    address's next failure it sees (the shared count is already over), so at most one extra
 *    failure per worker slips through.
 * 3. A global ceiling (RATE_LIMIT_GLOBAL_PER_SECOND): 429 for everyone past it, to shed load
 *    before any RSA work. Decided locally and shared with the other processes every `syncMs`
 *    (SharedWindowCounter): a check that waited on the store would cost every request a round trip.
 *
 * Layers 2 and 3 are synchronous checks (`checkEdge`) that both HTTP paths run before the body is
 * read (src/http/flow-edge.ts, src/http/flow-route.ts).
 */
export class RateLimiter {
  readonly #store: CounterStore;
  readonly #limits: Config['rateLimits'];
  readonly #logger: Logger;
  readonly #metrics: FlowgateMetrics | undefined;
  readonly #blockedUntil = new Map<string, number>();
  readonly #global: SharedWindowCounter;
  readonly #refusals: RefusalAudit | undefined;
  readonly #clock: () => number;

  constructor(options: RateLimiterOptions) {
    this.#refusals = options.refusals;
    this.#clock = options.clock ?? Date.now;
    this.#store = options.store;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#global = new SharedWindowCounter(this.#store, 'global', SECOND, options.syncMs);
  }

  get storeKind(): CounterStore['kind'] {
    return this.#store.kind;
  }

  /** The shared counters (fail-open), for other limits that must hold across processes (token API). */
  get counters(): CounterStore {
    return this.#store;
  }

  /** The time per-address windows are reckoned in. */
  get clock(): () => number {
    return this.#clock;
  }

  /** Layers 2 and 3, before the body is read: a refusal to answer with, or undefined to go on. */
  checkEdge(address: string | undefined): EdgeRefusal | undefined {
    const key = address ?? 'unknown';
    const until = this.#blockedUntil.get(key);
    const now = this.#clock();
    if (until !== undefined) {
      if (until > now) return this.#refuse('failed_per_ip', address, Math.ceil((until - now) / 1000));
      this.#blockedUntil.delete(key);
    }
    if (!this.#global.take(this.#limits.globalPerSecond, Date.now())) return this.#refuse('global', address, 1);
    return undefined;
  }

  /** Layer 2's counting: called with every flow-route answer; only failures reach the store. */
  async recordOutcome(address: string | undefined, status: number): Promise<void> {
    if (!FAILED_STATUSES.has(status)) return;
    const key = address ?? 'unknown';
    const at = this.#clock();
    const counted = await this.#store.hit(`failed:${key}`, MINUTE, 1, at);
    const limit = this.#limits.failedPerIpPerMinute;
    const failed = slidingCount(counted, MINUTE, at);
    if (failed >= limit) {
      const until = slidingFreeAt(counted, MINUTE, limit, at);
      if (!this.#blockedUntil.has(key)) {
        this.#logger.warn('too many failed requests from one address; refusing it for a while', {
          failed,
          until: new Date(until).toISOString(),
        });
      }
      if (this.#blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.#sweep();
      this.#blockedUntil.set(key, until);
    }
  }

  /** Writes the pending refusal summaries to the audit log and waits for their commit. */
  async flushRefusals(): Promise<void> {
    await this.#refusals?.flush();
  }

  /** Call before the database closes: the last refusal summaries still go to the audit log. */
  async close(): Promise<void> {
    await this.flushRefusals();
    await this.#global.flush();
    await this.#store.close();
  }

  #refuse(layer: EdgeRefusal['layer'], address: string | undefined, retryAfterSeconds: number): EdgeRefusal {
    this.#metrics?.rateLimited.inc({ layer });
    this.#refusals?.record(layer, address);
    return { layer, retryAfterSeconds: Math.max(1, retryAfterSeconds) };
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [k, until] of this.#blockedUntil) if (until <= now) this.#blockedUntil.delete(k);
    if (this.#blockedUntil.size >= MAX_BLOCKED_ADDRESSES) this.#blockedUntil.clear();
  }
}
