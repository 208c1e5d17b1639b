import { FailOpenStore, MemoryCounterStore, RedisCounterStore, RespClient } from '../../src/ratelimit';
import { parseReply } from '../../src/ratelimit/resp-client';
import { createLogger } from '../../src/logging';
import { freePort, randomAddress, testRedisUrl } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';

describe('when Redis is unreachable', () => {
  let t: TestService;
  beforeAll(async () => {
    const port = await freePort();
    t = await startTestService({
      env: {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        TRUST_PROXY: '1',
        RATE_LIMIT_PER_TOKEN_PER_MINUTE: '1',
        RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '1',
        // The global ceiling is counted in the process and only shared through the store, so it
        // holds even while the store is down (test/prod/shared-counter.test.ts); not tested here.
        RATE_LIMIT_GLOBAL_PER_SECOND: '1000',
      },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('then the failed-request layer fails open (served, a warning logged and counted); the per-token limit, kept with the session, still holds', async () => {
    const client = t.client();
    const token = await t.issueToken('+14155550131');
    expect(ok(await client.init(token)).screen).toBe('APPOINTMENT');
    expect(ok(await client.init(token)).data).toHaveProperty('error_message');
    // A limit of 1 would refuse the second failure from this address if the store answered.
    const address = randomAddress();
    const unsigned = t.client(undefined, { signed: false });
    const ping = { version: '3.0', action: 'ping' };
    expect((await unsigned.send(ping, { headers: { 'x-forwarded-for': address } })).status).toBe(432);
    expect((await unsigned.send(ping, { headers: { 'x-forwarded-for': address } })).status).toBe(432);
    expect((await client.send(ping, { headers: { 'x-forwarded-for': address } })).status).toBe(200);

    const warnings = t.logs.filter((l) => l.includes('fail open'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    // Throttled: one line per 10 s, not one per request.
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings[0]).toContain('"store":"redis"');
    expect(await t.service.metrics.render()).toMatch(
      /flowgate_rate_limit_store_errors_total\{store="redis"\} ([2-9]|\d\d+)/,
    );
    expect((await fetch(`${t.baseUrl}/readyz`)).status).toBe(200);
  });
});

describe('when a store hangs', () => {
  it('then the hit counts as zero after the timeout instead of holding the request', async () => {
    const hanging = {
      kind: 'redis' as const,
      hit: () => new Promise<never>(() => undefined),
      close: async () => undefined,
    };
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'json', sink: (l) => lines.push(l) });
    let errors = 0;
    const store = new FailOpenStore(hanging, logger, { timeoutMs: 50, onError: () => errors++ });
    const started = Date.now();
    expect((await store.hit('k', 60_000)).count).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors).toBe(1);
    expect(lines.join('\n')).toContain('no answer within 50 ms');
  });

  it('then a working store passes counts through', async () => {
    const logger = createLogger({ level: 'warn', format: 'json', silent: true });
    const store = new FailOpenStore(new MemoryCounterStore(), logger);
    expect((await store.hit('k', 60_000)).count).toBe(1);
    expect((await store.hit('k', 60_000)).count).toBe(2);
    expect((await store.hit('other', 60_000)).count).toBe(1);
  });
});

describe('when the RESP client talks to Redis', () => {
  it('then replies split across reads are parsed only once complete', () => {
    const whole = Buffer.from('*3\r\n:5\r\n$5\r\nhello\r\n$-1\r\n+OK\r\n-ERR wrong\r\n');
    for (let cut = 1; cut < 20; cut++) expect(parseReply(whole.subarray(0, cut), 0)).toBeUndefined();
    const first = parseReply(whole, 0);
    expect(first?.value).toEqual([5, 'hello', null]);
    const second = parseReply(whole, first?.next ?? 0);
    expect(second?.value).toBe('OK');
    const third = parseReply(whole, second?.next ?? 0);
    expect(String(third?.value)).toContain('ERR wrong');
  });

  it('then counters are shared between clients and expire after the window that reads them as previous', async () => {
    const url = await testRedisUrl();
    if (!url) return console.warn('skipped: no Redis here');
    const a = new RedisCounterStore(url);
    const b = new RedisCounterStore(url);
    const key = `test:${Math.random()}`;
    try {
      expect((await a.hit(key, 60_000)).count).toBe(1);
      expect((await b.hit(key, 60_000)).count).toBe(2);
      const client = new RespClient(url);
      const keys = (await client.command('KEYS', `flowgate:rl:${key}*`)) as string[];
      expect(keys).toHaveLength(1);
      const ttl = (await client.command('PTTL', keys[0] as string)) as number;
      expect(ttl).toBeGreaterThan(0);
      // Kept through the next window too, which reads it as its previous one (sliding windows).
      expect(ttl).toBeLessThanOrEqual(121_000);
      const next = await a.hit(key, 60_000, 1, Date.now() + 60_000);
      expect(next).toMatchObject({ count: 1, previous: 2 });
      await client.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('then a refused connection fails fast and is not retried on every call', async () => {
    const port = await freePort();
    const client = new RespClient(`redis://127.0.0.1:${port}`, { retryAfterMs: 60_000 });
    await expect(client.command('PING')).rejects.toThrow(/cannot reach redis/);
    await expect(client.command('PING')).rejects.toThrow(/not retrying yet/);
    await client.close();
  });
});
