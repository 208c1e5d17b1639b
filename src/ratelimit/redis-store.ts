import { RedisReplyError, RespClient } from './resp-client';
import { windowOf, type CounterStore, type WindowCount } from './store';

/**
 * Counters in Redis (REDIS_URL): INCRBY, PEXPIRE and a GET of the window before pipelined in one
 * round trip. The window index is in the key and every hit pushes the expiry to a little past the
 * end of the next window (which reads it as its previous one), so a key never outlives its use by
 * much, even if a process dies between the commands.
 */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  readonly #client: RespClient;
  readonly #prefix: string;

  /** `prefix` separates deployments sharing one Redis (the service uses `flowgate:<schema>:rl:`). */
  constructor(url: string, options: { commandTimeoutMs?: number; prefix?: string } = {}) {
    this.#client = new RespClient(url, options);
    this.#prefix = options.prefix ?? 'flowgate:rl:';
  }

  async hit(key: string, windowMs: number, amount = 1, at = Date.now()): Promise<WindowCount> {
    const now = Date.now();
    const { index, resetAt } = windowOf(windowMs, at);
    const stored = `${this.#prefix}${key}|${windowMs}|${index}`;
    const [count, expiry, previous] = await this.#client.pipeline([
      ['INCRBY', stored, String(amount)],
      // Kept one more window: the next window reads it as its `previous`.
      ['PEXPIRE', stored, String(Math.max(resetAt - now, 0) + windowMs + 1000)],
      ['GET', `${this.#prefix}${key}|${windowMs}|${index - 1}`],
    ]);
    if (count instanceof RedisReplyError) throw count;
    if (expiry instanceof RedisReplyError) throw expiry;
    if (previous instanceof RedisReplyError) throw previous;
    if (typeof count !== 'number') throw new RedisReplyError(`INCRBY answered ${typeof count}`);
    return { count, resetAt, previous: previous === null ? 0 : Number(previous) };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
