import { Redis, type Result } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { windowOf, type CounterStore, type WindowCount } from './store';

/** Redis could not be asked (unreachable, timed out, refused our credentials, closed). */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export interface RedisStoreOptions {
  /** Separates deployments sharing one Redis (the service uses `flowgate:<schema>:rl:`). */
  readonly prefix?: string;
  /** Budget of one hit; past it the hit is rejected (and the caller fails open). */
  readonly commandTimeoutMs?: number;
  /** Budget of connecting (TCP, TLS handshake, AUTH, SELECT) before the attempt counts as failed. */
  readonly connectTimeoutMs?: number;
  /** After a failed connection, hits fail at once for this long, then one reconnect is tried. */
  readonly retryAfterMs?: number;
  /**
   * Extra TLS options for `rediss://` (tests pass their own CA). By default the server's
   * certificate must be valid for the URL's host under Node's CAs (plus NODE_EXTRA_CA_CERTS).
   */
  readonly tls?: ConnectionOptions;
}

/**
 * One hit, atomically: add the amount to this window's counter, push its expiry, and read the
 * window before (what a sliding window is estimated from, src/ratelimit/sliding-window.ts).
 * KEYS[1] this window's counter, KEYS[2] the previous window's; ARGV[1] amount, ARGV[2] expiry (ms).
 */
const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {count, tonumber(redis.call('GET', KEYS[2]) or '0')}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    flowgateHit(current: string, previous: string, amount: number, expiryMs: number): Result<[number, number], Context>;
  }
}

/**
 * Counters in Redis (REDIS_URL) through ioredis. A hit is one script call (EVALSHA, loaded on first
 * use by ioredis), so the count, its expiry and the previous window's count are one round trip and
 * never half-applied. The window index is in the key and every hit pushes the expiry to a little past
 * the end of the next window (which reads it as its previous one), so a key never outlives its use
 * by much.
 *
 * The limiter must not wait on a Redis that is down: a hit times out after `commandTimeoutMs`; after
 * a failed connection attempt hits fail at once until the next attempt (`retryAfterMs` later); a
 * connection that stays silent for several command timeouts is dropped and reconnected. Callers wrap
 * the store in FailOpenStore (src/ratelimit/fail-open.ts), so each of these lets the request through.
 */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** Why the last connection attempt failed (a code or a Redis error, never the URL). */
  #lastError = 'not connected yet';

  constructor(url: string, options: RedisStoreOptions = {}) {
    const { protocol } = new URL(url);
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new RedisUnavailableError('REDIS_URL must start with redis:// or rediss:// (TLS)');
    }
    const commandTimeoutMs = options.commandTimeoutMs ?? 500;
    this.#timeoutMs = commandTimeoutMs;
    const retryAfterMs = options.retryAfterMs ?? 1000;
    this.#prefix = options.prefix ?? 'flowgate:rl:';
    // User, password and database come from the URL (AUTH and SELECT on every connection).
    this.#client = new Redis(url, {
      ...(protocol === 'rediss:' ? { tls: { ...options.tls } } : {}),
      // RESP2: every Redis and managed proxy speaks it; the replies used here are the same in RESP3.
      protocol: 2,
      connectTimeout: options.connectTimeoutMs ?? Math.max(commandTimeoutMs, 2000),
      commandTimeout: commandTimeoutMs,
      // Several command timeouts without a byte back: the connection is dead, not slow.
      socketTimeout: 4 * commandTimeoutMs,
      retryStrategy: () => retryAfterMs,
      // Hits waiting for a connection are refused as soon as an attempt fails, not kept for later:
      // a late count is worth nothing to a request that has already been answered.
      maxRetriesPerRequest: 0,
      // A command that lost its connection would be counted twice if resent.
      autoResendUnfulfilledCommands: false,
      disableClientInfo: true,
    });
    // Failures reach the caller through rejected hits (and FailOpenStore's throttled warning); an
    // 'error' event without a listener would be printed by ioredis on every reconnect attempt.
    this.#client.on('error', (err: NodeJS.ErrnoException) => {
      this.#lastError = err.code ?? err.message;
    });
    this.#client.defineCommand('flowgateHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
  }

  async hit(key: string, windowMs: number, amount = 1, at = Date.now()): Promise<WindowCount> {
    const status = this.#client.status;
    if (status === 'end') throw new RedisUnavailableError('client closed');
    if (status === 'close' || status === 'reconnecting') {
      throw new RedisUnavailableError(`cannot reach redis (${this.#lastError}); not retrying yet`);
    }
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, at);
    const base = `${this.#prefix}${key}|${windowMs}|`;
    // Kept one more window: the next window reads it as its `previous`.
    const expiryMs = Math.max(resetAt - now, 0) + windowMs + 1000;
    try {
      const [count, previous] = await this.#client.flowgateHit(
        `${base}${index}`,
        `${base}${index - 1}`,
        amount,
        expiryMs,
      );
      return { count, resetAt, previous };
    } catch (err) {
      if ((err as Error).name === 'MaxRetriesPerRequestError') {
        // The connection this hit waited for failed (refused, TLS, AUTH, connect timeout).
        throw new RedisUnavailableError(`cannot reach redis (${this.#lastError})`);
      }
      const message = (err as Error).message;
      if (message === 'Command timed out') throw new RedisUnavailableError(`no reply within ${this.#timeoutMs} ms`);
      throw new RedisUnavailableError(`redis hit failed (${message})`);
    }
  }

  /** Drops the connection at once: counts still in flight are worth nothing at shutdown. */
  close(): Promise<void> {
    this.#client.disconnect();
    return Promise.resolve();
  }
}
