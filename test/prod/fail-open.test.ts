import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { FailOpenStore, MemoryCounterStore, RedisCounterStore } from '../../src/ratelimit';
import { createLogger } from '../../src/logging';
import { freePort, randomAddress, testRedisUrl } from '../helpers/net';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
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

describe('when the Redis store talks to Redis', () => {
  // A prefix of each test's own: other runs on this Redis never see or touch these keys.
  const prefix = (): string => `flowgate-test:${randomBytes(6).toString('hex')}:rl:`;

  it('then counters are shared between clients and expire after the window that reads them as previous', async () => {
    const url = await testRedisUrl();
    if (!url) return console.warn('skipped: no Redis here');
    const p = prefix();
    const a = new RedisCounterStore(url, { prefix: p });
    const b = new RedisCounterStore(url, { prefix: p });
    const look = new Redis(url);
    try {
      expect((await a.hit('k', 60_000)).count).toBe(1);
      expect((await b.hit('k', 60_000)).count).toBe(2);
      const keys = await look.keys(`${p}*`);
      expect(keys).toHaveLength(1);
      const ttl = await look.pttl(keys[0] as string);
      expect(ttl).toBeGreaterThan(0);
      // Kept through the next window too, which reads it as its previous one (sliding windows).
      expect(ttl).toBeLessThanOrEqual(121_000);
      const next = await a.hit('k', 60_000, 1, Date.now() + 60_000);
      expect(next).toMatchObject({ count: 1, previous: 2 });
    } finally {
      look.disconnect();
      await a.close();
      await b.close();
    }
  });

  it('then concurrent hits from two clients each get a count of their own (one atomic script per hit)', async () => {
    const url = await testRedisUrl();
    if (!url) return console.warn('skipped: no Redis here');
    const p = prefix();
    const a = new RedisCounterStore(url, { prefix: p, commandTimeoutMs: 5000 });
    const b = new RedisCounterStore(url, { prefix: p, commandTimeoutMs: 5000 });
    try {
      const counts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).hit('k', 60_000, 2).then((r) => r.count)),
      );
      expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => 2 * (i + 1)));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('then the database in the URL is selected on connecting', async () => {
    const url = await testRedisUrl();
    if (!url) return console.warn('skipped: no Redis here');
    const p = prefix();
    const inDb3 = new URL(url);
    inDb3.pathname = '/3';
    const store = new RedisCounterStore(inDb3.toString(), { prefix: p });
    const db0 = new Redis(url, { db: 0 });
    const db3 = new Redis(url, { db: 3 });
    try {
      expect((await store.hit('k', 60_000)).count).toBe(1);
      expect(await db3.keys(`${p}*`)).toHaveLength(1);
      expect(await db0.keys(`${p}*`)).toEqual([]);
    } finally {
      await db3.del(...(await db3.keys(`${p}*`)));
      db0.disconnect();
      db3.disconnect();
      await store.close();
    }
  });

  it('then the user and password in the URL authenticate, and wrong ones let requests through (fail open)', async () => {
    const url = await testRedisUrl();
    if (!url) return console.warn('skipped: no Redis here');
    const p = prefix();
    // A user of this test's own, allowed only its own keys, removed afterwards.
    const user = `flowgate-test-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('base64url');
    const admin = new Redis(url);
    await admin.acl('SETUSER', user, 'on', `>${password}`, `~${p}*`, '+@all');
    const withUser = (pw: string): string => {
      const u = new URL(url);
      u.username = user;
      u.password = pw;
      return u.toString();
    };
    const good = new RedisCounterStore(withUser(password), { prefix: p });
    const bad = new RedisCounterStore(withUser('not-the-password'), { prefix: p });
    const logger = createLogger({ level: 'warn', format: 'json', silent: true });
    const failOpen = new FailOpenStore(bad, logger);
    try {
      expect((await good.hit('k', 60_000)).count).toBe(1);
      await expect(bad.hit('k', 60_000)).rejects.toThrow(/WRONGPASS|cannot reach redis/);
      expect((await failOpen.hit('k', 60_000)).count).toBe(0);
      expect((await good.hit('k', 60_000)).count).toBe(2);
    } finally {
      await good.close();
      await bad.close();
      await admin.acl('DELUSER', user);
      const keys = await admin.keys(`${p}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    }
  });

  it('then a refused connection fails fast and is not retried on every call', async () => {
    const port = await freePort();
    const store = new RedisCounterStore(`redis://127.0.0.1:${port}`, { retryAfterMs: 60_000 });
    try {
      await expect(store.hit('k', 60_000)).rejects.toThrow(/ECONNREFUSED/);
      const started = Date.now();
      await expect(store.hit('k', 60_000)).rejects.toThrow(/not retrying yet/);
      expect(Date.now() - started).toBeLessThan(100);
    } finally {
      await store.close();
    }
  });
});

const privateRedis = redisServerAvailable() ? describe : describe.skip;

privateRedis('when Redis goes away and comes back', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.cleanup();
  });

  it('then hits fail (and the limiter fails open) while it is down, and count again once it is back', async () => {
    const store = new RedisCounterStore(`redis://127.0.0.1:${redis.port}`, { retryAfterMs: 50 });
    try {
      expect((await store.hit('k', 60_000)).count).toBe(1);
      await redis.stop();
      await expect(store.hit('k', 60_000)).rejects.toThrow(/redis/);
      await redis.start();
      // Reconnects on its own, every retryAfterMs; an empty server starts counting from 1 again.
      let count = 0;
      for (let i = 0; i < 200 && count === 0; i++) {
        count = await store.hit('k', 60_000).then(
          (r) => r.count,
          () => new Promise<number>((resolve) => setTimeout(() => resolve(0), 25)),
        );
      }
      expect(count).toBe(1);
    } finally {
      await store.close();
    }
  });
});
