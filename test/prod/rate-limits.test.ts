import { randomBytes } from 'node:crypto';
import { awayFromWindowEnd, randomAddress, rawRequest, signedPing, testRedisUrl, type RawReply } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok } from '../helpers/walk';

/**
 * Each layer through the real app, on each store: memory (PGlite), PostgreSQL (when DATABASE_URL
 * is set) and Redis (when one answers at REDIS_URL or 127.0.0.1:6379). Addresses come from
 * X-Forwarded-For with TRUST_PROXY=1, one fresh address per test, so tests never share a counter.
 */
const TOO_FAST = 'You are going a bit fast. Please wait a moment and try again.';

interface StoreCase {
  readonly name: 'memory' | 'postgres' | 'redis';
  readonly env: () => Promise<Record<string, string | undefined> | undefined>;
}

const cases: StoreCase[] = [
  // PGlite, whatever DATABASE_URL says: the memory store is what PGlite uses.
  { name: 'memory', env: async () => ({ DATABASE_URL: undefined, PGLITE_DATA_DIR: 'memory://' }) },
  { name: 'postgres', env: async () => (process.env.DATABASE_URL ? {} : undefined) },
  {
    name: 'redis',
    env: async () => {
      const url = await testRedisUrl();
      // A schema of its own: Redis keys carry it, so parallel runs never share counters.
      return url ? { REDIS_URL: url, DATABASE_SCHEMA: `fgt_${randomBytes(6).toString('hex')}` } : undefined;
    },
  },
];

describe.each(cases)('when counters live in the $name store', ({ name, env }) => {
  let t: TestService | undefined;
  beforeAll(async () => {
    const storeEnv = await env();
    if (!storeEnv) return;
    t = await startTestService({
      env: {
        TRUST_PROXY: '1',
        RATE_LIMIT_PER_TOKEN_PER_MINUTE: '3',
        RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '3',
        // Far above what the other tests send per second; the global test bursts past it.
        RATE_LIMIT_GLOBAL_PER_SECOND: '30',
        ...storeEnv,
      },
    });
    expect(t.service.rateLimiter.storeKind).toBe(name);
  });
  afterAll(async () => {
    await t?.stop();
  });
  const service = (): TestService => {
    if (!t) throw new Error('unreachable');
    return t;
  };
  const maybe = (title: string, fn: () => Promise<void>) =>
    it(title, async () => {
      if (!t) return console.warn(`skipped: no ${name} store here`);
      await fn();
    });

  maybe(
    'then a token past its per-minute share gets HTTP 200 with an encrypted error on its current screen',
    async () => {
      const s = service();
      await awayFromWindowEnd(60_000, 10_000);
      const client = s.client();
      const token = await s.issueToken(`+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`);
      const first = ok(await client.init(token));
      expect(first.screen).toBe('APPOINTMENT');
      ok(await client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date: tomorrow() }));
      ok(await client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date: tomorrow() }));
      const limited = await client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date: tomorrow() });
      expect(limited.status).toBe(200);
      expect(ok(limited).screen).toBe('APPOINTMENT');
      expect(dataOf(limited).error_message).toBe(TOO_FAST);
      // Reopening the flow (INIT) past the limit: the entry screen already shown carries the error;
      // never a 4xx, which would also count against WhatsApp's address.
      const reopened = await client.init(token);
      expect(reopened.status).toBe(200);
      expect(ok(reopened).screen).toBe('APPOINTMENT');
      expect(dataOf(reopened).error_message).toBe(TOO_FAST);
      // Another token is not affected.
      const other = await s.issueToken('+14155550199');
      expect(ok(await client.init(other)).screen).toBe('APPOINTMENT');
      const metrics = await s.service.metrics.render();
      expect(metrics).toContain('flowgate_rate_limited_total{layer="per_token"} 2');
      const flow = 'flowgate_requests_total{flow="book-appointment"';
      expect(metrics).toContain(`${flow},screen="APPOINTMENT",outcome="rate_limited",status="200"} 1`);
      expect(metrics).toContain(`${flow},screen="",outcome="rate_limited",status="200"} 1`);
    },
  );

  maybe('then an address that caused too many failed requests gets 429, other addresses do not', async () => {
    const s = service();
    await awayFromWindowEnd(60_000, 10_000);
    const address = randomAddress();
    const auditedBefore = await refusalsAudited(s, 'failed_per_ip');
    const unsigned = s.client(undefined, { signed: false });
    for (let i = 0; i < 3; i++) {
      const reply = await unsigned.send(PING, { headers: { 'x-forwarded-for': address } });
      expect(reply.status).toBe(432);
    }
    // Even a good request from that address is refused now, before its body is read.
    const refused = await signedPingFrom(s, address);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A sliding minute: the failures fade over the next minute too (test/prod/sliding-limits.test.ts).
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(120);
    expect((await signedPingFrom(s, randomAddress())).status).toBe(200);
    expect(await s.service.metrics.render()).toMatch(/flowgate_rate_limited_total\{layer="failed_per_ip"\} [1-9]/);
    // Audited as a summary: one refusal more, and the address nowhere in the audit log.
    const audited = await refusalsAudited(s, 'failed_per_ip');
    expect(audited.refused - auditedBefore.refused).toBe(1);
    expect(audited.text).not.toContain(address);
  });

  maybe('then a rejected flow token (427) is not counted as a failed request', async () => {
    const s = service();
    await awayFromWindowEnd(60_000, 10_000);
    const address = randomAddress();
    for (let i = 0; i < 4; i++) {
      const reply = await s
        .client()
        .send(
          { version: '3.0', action: 'INIT', flow_token: 'not-a-token', screen: '', data: {} },
          { headers: { 'x-forwarded-for': address } },
        );
      expect(reply.status).toBe(427);
    }
    expect((await signedPingFrom(s, address)).status).toBe(200);
  });

  maybe('then requests past the global ceiling within the same second get 429, whatever their address', async () => {
    const s = service();
    // Sealed beforehand (client-side RSA), then sent at the start of a second, so that the burst
    // falls in as few one-second windows as possible even on a loaded machine.
    // 100 against a ceiling of 30/s: even if the burst straddles up to three one-second windows,
    // at least 10 must be refused (with 60, a burst split 30/30 over two windows refused none).
    const burst = 100;
    const auditedBefore = await refusalsAudited(s, 'global');
    const pings = Array.from({ length: burst }, () => signedPing(s.keys.publicKeyPem, s.env.META_APP_SECRET as string));
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const firstWindow = Math.floor(Date.now() / 1000);
    const replies = await Promise.all(
      pings.map((p) =>
        rawRequest(s.client().url, { body: p.body, headers: { ...p.headers, 'x-forwarded-for': randomAddress() } }),
      ),
    );
    const windows = Math.floor(Date.now() / 1000) - firstWindow + 1;
    const statuses = replies.map((r) => r.status);
    const refused = statuses.filter((st) => st === 429).length;
    const served = statuses.filter((st) => st === 200).length;
    expect(served + refused).toBe(burst);
    expect(served).toBeLessThanOrEqual(30 * windows);
    // Counted, not let through by a failing store.
    expect(await s.service.metrics.render()).not.toContain('flowgate_rate_limit_store_errors_total{');
    if (windows === 1) expect(refused).toBe(burst - 30);
    else expect(refused).toBeGreaterThanOrEqual(Math.max(1, burst - 30 * windows));
    expect(await s.service.metrics.render()).toMatch(/flowgate_rate_limited_total\{layer="global"\} [1-9]/);
    // Every 429 is in the audit log, counted in summary events (one per layer and interval).
    const audited = await refusalsAudited(s, 'global');
    expect(audited.refused - auditedBefore.refused).toBe(refused);
    expect(audited.events).toBeGreaterThan(auditedBefore.events);
    // Health and readiness are never throttled.
    expect((await fetch(`${s.baseUrl}/readyz`)).status).toBe(200);
  });
});

const PING = { version: '3.0', action: 'ping' } as const;

/** The edge refusals the audit log holds for `layer` (after writing the pending summaries). */
async function refusalsAudited(
  s: TestService,
  layer: 'failed_per_ip' | 'global',
): Promise<{ refused: number; events: number; text: string }> {
  await s.service.rateLimiter.flushRefusals();
  const rows = (await s.service.database
    .knex('audit_events')
    .where({ outcome: 'rate_limited', http_status: 429 })
    .select('*')) as { detail: { layer?: string; refused?: number } | string }[];
  const mine = rows.filter((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).layer === layer);
  const refused = mine.reduce(
    (sum, r) => sum + Number((typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).refused),
    0,
  );
  return { refused, events: mine.length, text: JSON.stringify(rows) };
}

function signedPingFrom(s: TestService, address: string): Promise<RawReply> {
  const ping = signedPing(s.keys.publicKeyPem, s.env.META_APP_SECRET as string);
  return rawRequest(s.client().url, { body: ping.body, headers: { ...ping.headers, 'x-forwarded-for': address } });
}

function tomorrow(): string {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}
