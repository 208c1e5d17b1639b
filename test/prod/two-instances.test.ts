import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runCli } from '../helpers/cli';
import { makeTestKeys, testEnv, type TestKeys } from '../helpers/env';
import { freePort, randomAddress, rawRequest, testRedisUrl } from '../helpers/net';
import { messageOf, spawnService, type SpawnedService } from '../helpers/spawn-service';
import { ok } from '../helpers/walk';
import { WhatsAppClient, type FlowReply } from '../helpers/whatsapp-client';

/**
 * Two independent instances (two `node dist/src/main.js`, as two machines behind a load balancer
 * run them, not cluster workers of one) on one PostgreSQL schema and one Redis: what one instance
 * decided, the other must honour. PGlite is one process by nature, so this runs in the PostgreSQL
 * pass only (DATABASE_URL set); there, a Redis that does not answer fails it in CI (testRedisUrl).
 */
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.warn('two-instances: skipped on PGlite; two instances need a server database (run with DATABASE_URL set)');
}

(databaseUrl ? describe : describe.skip)('when two instances share one PostgreSQL and one Redis', () => {
  let keys: TestKeys;
  let env: Record<string, string | undefined>;
  let redisUrl: string | undefined;
  const instances: { svc: SpawnedService; base: string; client: WhatsAppClient }[] = [];
  const FAILED_PER_IP = 4;

  beforeAll(async () => {
    redisUrl = await testRedisUrl();
    if (!redisUrl) return;
    keys = makeTestKeys();
    // Everything but the port is the same on both: one deployment, two machines.
    env = testEnv(keys, {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: `fgt_${randomBytes(6).toString('hex')}`,
      REDIS_URL: redisUrl,
      WEB_CONCURRENCY: '1',
      DATABASE_POOL_MAX: '4',
      TRUST_PROXY: '1',
      RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: String(FAILED_PER_IP),
      AUDIT_CHAINS: '4',
    });
    // One after the other: the first migrates the fresh schema, the second finds it current.
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const svc = spawnService({ ...env, PORT: String(port) }, keys.dir);
      instances.push({ svc, base: `http://127.0.0.1:${port}`, client: clientFor(`http://127.0.0.1:${port}`) });
      await svc.waitForLog((l) => messageOf(l).startsWith('flowgate listening'), 90_000);
    }
  }, 240_000);

  afterAll(async () => {
    for (const { svc } of instances) svc.kill('SIGKILL');
    if (env?.DATABASE_SCHEMA) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA}" CASCADE`);
      await client.end();
    }
    if (redisUrl && env?.DATABASE_SCHEMA) {
      const redis = new Redis(redisUrl);
      const left = await redis.keys(`flowgate:${env.DATABASE_SCHEMA}:*`);
      if (left.length > 0) await redis.del(...left);
      redis.disconnect();
    }
    keys?.cleanup();
  }, 60_000);

  const clientFor = (baseUrl: string): WhatsAppClient =>
    new WhatsAppClient({
      baseUrl,
      flowId: 'book-appointment',
      publicKeyPem: keys.publicKeyPem,
      appSecret: env.META_APP_SECRET,
    });
  const both = (): [WhatsAppClient, WhatsAppClient] => {
    const [a, b] = instances;
    if (!a || !b) throw new Error('the instances did not start');
    return [a.client, b.client];
  };
  const skipped = (): boolean => {
    if (redisUrl) return false;
    console.warn('skipped: no Redis here (CI starts one)');
    return true;
  };

  /** Issues a token through the token API of instance `i`. */
  const issue = async (i: number, phone: string): Promise<string> => {
    const reply = await rawRequest(`${instances[i]?.base}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.TOKEN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flow_id: 'book-appointment', phone }),
    });
    expect(reply.status).toBe(201);
    return (JSON.parse(reply.body) as { flow_token: string }).flow_token;
  };

  /** The example flow from INIT to SUCCESS, each step on the instance `pick(step)` names. */
  const walk = async (token: string, n: number, pick: (step: number) => WhatsAppClient): Promise<void> => {
    const screen = (reply: FlowReply): unknown => ok(reply).screen;
    expect(screen(await pick(0).init(token))).toBe('APPOINTMENT');
    let date = '';
    let time = '';
    for (let day = 1; day <= 30 && !time; day++) {
      date = new Date(Date.now() + day * 86_400_000).toISOString().slice(0, 10);
      const data = ok(await pick(1).exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date })).data as {
        is_time_enabled?: boolean;
        time?: { id: string }[];
      };
      // The n-th free time: walks running at once never ask for the same slot.
      if (data.is_time_enabled === true && data.time) time = data.time[n % data.time.length]?.id ?? '';
    }
    expect(time).not.toBe('');
    const chosen = { trigger: 'appointment_chosen', department: 'cardiology', location: 'central', date, time };
    expect(screen(await pick(2).exchange(token, 'APPOINTMENT', chosen))).toBe('DETAILS');
    const details = { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550100', notes: '' };
    expect(screen(await pick(3).exchange(token, 'DETAILS', details))).toBe('SUMMARY');
    expect(screen(await pick(4).exchange(token, 'SUMMARY', { consent: true }))).toBe('SUCCESS');
  };

  it('then walks that hop between the instances complete, and a token completed on one is refused on the other', async () => {
    if (skipped()) return;
    const [a, b] = both();
    // Several at once, each step on the other instance than the one before.
    const tokens = await Promise.all([0, 1, 0, 1].map((i, n) => issue(i, `+1415555${1000 + n}`)));
    await Promise.all(tokens.map((token, n) => walk(token, n, (step) => ((step + n) % 2 === 0 ? a : b))));
    for (const [n, token] of tokens.entries()) {
      // Walk n's last step (4) ran on `a` when n is even; the replay goes to the other one.
      const other = n % 2 === 0 ? b : a;
      const replay = await other.init(token);
      expect(replay.status).toBe(427);
      expect(replay.json).toEqual({ error_msg: 'You have already completed this form.' });
      const submit = await other.exchange(token, 'SUMMARY', { consent: true });
      expect(submit.status).toBe(427);
    }
  });

  it('then the failed-request limit per address is counted across both instances (in Redis)', async () => {
    if (skipped()) return;
    const [a, b] = both();
    const address = randomAddress();
    const ping = { version: '3.0', action: 'ping' };
    // Unsigned requests (432, failed) from one address, alternately to each instance: one more than
    // the limit, so instance a sees 3 of them and instance b 2, neither the limit of 4 on its own.
    // An instance refuses an address once a failure it counted finds the shared count at the limit;
    // so each may let one failure past the limit through (src/ratelimit/rate-limiter.ts).
    for (let i = 0; i <= FAILED_PER_IP; i++) {
      const reply = await (i % 2 ? b : a).send(ping, { signature: null, headers: { 'x-forwarded-for': address } });
      expect(reply.status).toBe(432);
    }
    // Now both refuse that address, even a signed request, before its body is read.
    for (const c of [a, b]) {
      const reply = await c.send(ping, { headers: { 'x-forwarded-for': address } });
      expect(reply.status).toBe(429);
    }
    expect((await a.send(ping, { headers: { 'x-forwarded-for': randomAddress() } })).status).toBe(200);
    // The counters are Redis keys under this deployment's schema, not rows in PostgreSQL.
    const redis = new Redis(redisUrl as string);
    try {
      expect((await redis.keys(`flowgate:${env.DATABASE_SCHEMA}:rl:*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('then both stop cleanly and `audit verify` finds every chain intact', async () => {
    if (skipped()) return;
    for (const { svc } of instances) {
      svc.kill('SIGTERM');
      expect(await svc.exited()).toEqual({ code: 0, signal: null });
    }
    const verify = await runCli('audit', ['verify'], { env, timeoutMs: 60_000 });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    // The four completions are there, whichever instance wrote them.
    const completed = await runCli('audit', ['query', '--outcome', 'completed', '--format', 'json'], {
      env,
      timeoutMs: 60_000,
    });
    expect(completed.code).toBe(0);
    expect(JSON.parse(completed.stdout)).toHaveLength(4);
  });
});
