import { randomBytes } from 'node:crypto';
import { randomAddress, rawRequest, signedPing, testRedisUrl, type RawReply } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The per-address limits count in a sliding minute, in the shared store: a client cannot spend its
 * limit at :59 and again at :00 (the clock-minute reset the fixed windows had), and the token API's
 * limit holds across instances. Time is moved by hand (ServiceOptions.rateLimitClock), never slept:
 * a clock set minutes ahead of real time, so that no store expires the counters under the test.
 * Each store: memory (PGlite), PostgreSQL (DATABASE_URL), Redis (127.0.0.1:6379 or REDIS_URL).
 */
interface StoreCase {
  readonly name: 'memory' | 'postgres' | 'redis';
  readonly env: () => Promise<Record<string, string | undefined> | undefined>;
}

const cases: StoreCase[] = [
  { name: 'memory', env: async () => ({ DATABASE_URL: undefined, PGLITE_DATA_DIR: 'memory://' }) },
  { name: 'postgres', env: async () => (process.env.DATABASE_URL ? {} : undefined) },
  {
    name: 'redis',
    env: async () => {
      const url = await testRedisUrl();
      return url ? { REDIS_URL: url, DATABASE_SCHEMA: `fgt_${randomBytes(6).toString('hex')}` } : undefined;
    },
  },
];

const MINUTE = 60_000;

/** A hand-moved clock: `at(minute, second)` sets it that far into a minute well ahead of now. */
function handClock(): { now: () => number; at: (minute: number, second: number) => void } {
  const base = (Math.ceil(Date.now() / MINUTE) + 5) * MINUTE;
  let now = base;
  return { now: () => now, at: (minute, second) => void (now = base + minute * MINUTE + second * 1000) };
}

describe.each(cases)('when counters live in the $name store and time crosses a minute', ({ name, env }) => {
  let t: TestService | undefined;
  const clock = handClock();
  beforeAll(async () => {
    const storeEnv = await env();
    if (!storeEnv) return;
    t = await startTestService({
      env: {
        TRUST_PROXY: '1',
        RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '3',
        RATE_LIMIT_TOKEN_API_PER_MINUTE: '3',
        ...storeEnv,
      },
      rateLimitClock: clock.now,
    });
    expect(t.service.rateLimiter.storeKind).toBe(name);
  });
  afterAll(async () => {
    await t?.stop();
  });
  const maybe = (title: string, fn: (s: TestService) => Promise<void>) =>
    it(title, async () => {
      if (!t) return console.warn(`skipped: no ${name} store here`);
      await fn(t);
    });

  maybe('then failures at :59 still block the address at :00, and it is heard again once they faded', async (s) => {
    const address = randomAddress();
    const unsigned = s.client(undefined, { signed: false });
    clock.at(0, 59.5);
    for (let i = 0; i < 3; i++) {
      expect((await unsigned.send(PING, { headers: { 'x-forwarded-for': address } })).status).toBe(432);
    }
    expect((await signedPingFrom(s, address)).status).toBe(429);
    // A new clock minute: a fixed window would let three more failures through now.
    clock.at(1, 0.5);
    const atMinute = await signedPingFrom(s, address);
    expect(atMinute.status).toBe(429);
    const unsignedAtMinute = await unsigned.send(PING, { headers: { 'x-forwarded-for': address } });
    expect(unsignedAtMinute.status).toBe(429);
    // Three failures in the last minute, one more allowed once a third of them slid out (at :20).
    const retryAfter = Number(atMinute.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(21);
    clock.at(1, 19);
    expect((await signedPingFrom(s, address)).status).toBe(429);
    clock.at(1, 21);
    expect((await signedPingFrom(s, address)).status).toBe(200);
    // One failure now fills the sliding minute again (2 left of the three, plus this one).
    expect((await unsigned.send(PING, { headers: { 'x-forwarded-for': address } })).status).toBe(432);
    expect((await signedPingFrom(s, address)).status).toBe(429);
    // Another address was never affected.
    expect((await signedPingFrom(s, randomAddress())).status).toBe(200);
  });

  maybe('then a burst at :59 and :00 gets the token API limit through once, not twice', async (s) => {
    const address = randomAddress();
    clock.at(2, 59.5);
    const before = await Promise.all([1, 2, 3, 4].map(() => tokenApi(s, address, 'Bearer wrong')));
    expect(before.map((r) => r.status).sort()).toEqual([401, 401, 401, 429]);
    // A new clock minute: a fixed window would answer these three 401 again.
    clock.at(3, 0.5);
    const after: RawReply[] = [];
    for (let i = 0; i < 3; i++) after.push(await tokenApi(s, address, 'Bearer wrong'));
    expect(after.map((r) => r.status)).toEqual([429, 429, 429]);
    const refused = after[2];
    expect(JSON.parse(refused.body)).toEqual({
      error: 'too many requests to the token API from this address; see Retry-After',
    });
    // Refused requests count too (a flood keeps itself out): the three of this minute must slide
    // out to two thirds, at :20 of the next minute.
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(79);
    expect(retryAfter).toBeLessThanOrEqual(80);
    // Free again when the header says so; the right key and a bad body then get their 400.
    clock.at(3, 0.5 + retryAfter + 1);
    const free = await tokenApi(s, address, `Bearer ${s.env.TOKEN_API_KEY}`);
    expect(free.status).toBe(400);
    expect(JSON.parse(free.body).error).toMatch(/^unknown field "ttl"/);
  });
});

const databaseUrl = process.env.DATABASE_URL;
(databaseUrl ? describe : describe.skip)('when two instances share one PostgreSQL', () => {
  it('then the token API limit per address is shared between them', async () => {
    const schema = `fgt_${randomBytes(6).toString('hex')}`;
    const env = { TRUST_PROXY: '1', RATE_LIMIT_TOKEN_API_PER_MINUTE: '4', DATABASE_SCHEMA: schema };
    const a = await startTestService({ env });
    const b = await startTestService({ env });
    try {
      expect(a.service.rateLimiter.storeKind).toBe('postgres');
      const address = randomAddress();
      const statuses: number[] = [];
      for (const s of [a, b, a, b, a, b]) statuses.push((await tokenApi(s, address, 'Bearer wrong')).status);
      // Four in all, whichever instance counted them; per instance each would have let three more through.
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
      expect((await tokenApi(b, randomAddress(), 'Bearer wrong')).status).toBe(401);
    } finally {
      await b.stop();
      await a.stop();
    }
  }, 240_000);
});

describe('when two instances share one Redis', () => {
  const instances: TestService[] = [];
  beforeAll(async () => {
    const url = await testRedisUrl();
    if (!url) return;
    const schema = `fgt_${randomBytes(6).toString('hex')}`;
    const env = { TRUST_PROXY: '1', RATE_LIMIT_TOKEN_API_PER_MINUTE: '4', REDIS_URL: url, DATABASE_SCHEMA: schema };
    // Redis keys carry DATABASE_SCHEMA: one deployment, two instances (each with its own PGlite
    // when DATABASE_URL is unset, so only Redis is shared).
    instances.push(await startTestService({ env }));
    instances.push(await startTestService({ env }));
  }, 240_000);
  afterAll(async () => {
    for (const s of instances.reverse()) await s.stop();
  }, 60_000);

  it('then the token API limit per address is shared between them', async () => {
    const [a, b] = instances;
    if (!a || !b) return console.warn('skipped: no Redis here');
    expect(b.service.rateLimiter.storeKind).toBe('redis');
    const address = randomAddress();
    const statuses: number[] = [];
    for (const s of [a, b, a, b, a]) statuses.push((await tokenApi(s, address, 'Bearer wrong')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
  });
});

const PING = { version: '3.0', action: 'ping' } as const;

function signedPingFrom(s: TestService, address: string): Promise<RawReply> {
  const ping = signedPing(s.keys.publicKeyPem, s.env.META_APP_SECRET as string);
  return rawRequest(s.client().url, { body: ping.body, headers: { ...ping.headers, 'x-forwarded-for': address } });
}

function tokenApi(s: TestService, address: string, authorization: string): Promise<RawReply> {
  return rawRequest(`${s.baseUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ flow_id: 'book-appointment', phone: '+14155550100', ttl: 1 }),
  });
}
