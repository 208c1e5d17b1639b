import { createServer } from 'node:net';
import pg from 'pg';
import { makeTestKeys, testEnv, type TestKeys } from '../helpers/env';
import { freePort, rawRequest, reachable, signedPing } from '../helpers/net';
import { readmeMismatches } from '../helpers/readme-metrics';
import { messageOf, spawnService, type SpawnedService } from '../helpers/spawn-service';

/**
 * The built service as production runs it: `node dist/src/main.js`, with node:cluster sharing one
 * port between workers (dist/ is built by jest's global setup, test/helpers/build-once.ts). Ports are picked free beforehand (PORT=0 cannot work: every worker would
 * get its own random port).
 */
const METRICS_TOKEN = 'cluster-metrics-token-0123456789abcdef';

describe('when started with PGlite and WEB_CONCURRENCY=2', () => {
  it('then it runs a single process, says why, serves, and exits 0 on SIGTERM', async () => {
    const keys = makeTestKeys();
    const port = await freePort();
    const svc = spawnService(
      testEnv(keys, {
        DATABASE_URL: undefined,
        PGLITE_DATA_DIR: 'memory://',
        PORT: String(port),
        WEB_CONCURRENCY: '2',
      }),
      keys.dir,
    );
    try {
      const listening = await svc.waitForLog((l) => messageOf(l).startsWith('flowgate listening'));
      expect(listening.workers).toBe(1);
      expect(String(listening.why)).toMatch(/PGlite is single-process: running 1 worker although WEB_CONCURRENCY=2/);
      expect(listening.pid).toBe(svc.child.pid);
      expect((await rawRequest(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      svc.kill('SIGTERM');
      expect(await svc.exited()).toEqual({ code: 0, signal: null });
      expect(svc.logs.map(messageOf)).toContain('stopped');
    } finally {
      svc.kill('SIGKILL');
      keys.cleanup();
    }
  });
});

const databaseUrl = process.env.DATABASE_URL;
(databaseUrl ? describe : describe.skip)('when started with WEB_CONCURRENCY=2 on PostgreSQL', () => {
  let keys: TestKeys;
  let env: Record<string, string | undefined>;
  let svc: SpawnedService;
  let base: string;
  let metricsUrl: string;
  let port: number;
  const workerPids = new Map<string, number>();

  beforeAll(async () => {
    keys = makeTestKeys();
    port = await freePort();
    const metricsPort = await freePort();
    env = testEnv(keys, {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN,
      WEB_CONCURRENCY: '2',
      DATABASE_POOL_MAX: '3',
    });
    base = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    svc = spawnService(env, keys.dir);
    await svc.waitForLog((l) => messageOf(l) === 'all 2 workers listening');
    for (const line of svc.logs) {
      const m = /^worker (\d) listening/.exec(messageOf(line));
      if (m) workerPids.set(m[1] as string, line.pid as number);
    }
  }, 60_000);

  afterAll(async () => {
    svc?.kill('SIGKILL');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA as string}" CASCADE`);
    await client.end();
    keys?.cleanup();
  });

  const ping = () => {
    const p = signedPing(keys.publicKeyPem, env.META_APP_SECRET as string);
    return { ...p, send: () => rawRequest(`${base}/flows/book-appointment`, { body: p.body, headers: p.headers }) };
  };
  const scrape = async () =>
    (await rawRequest(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body;

  it('then two worker processes, other than the primary, share the port and both answer requests', async () => {
    expect(workerPids.size).toBe(2);
    const pids = new Set(workerPids.values());
    expect(pids.size).toBe(2);
    expect(pids.has(svc.child.pid as number)).toBe(false);
    for (let i = 0; i < 16; i++) {
      const p = ping();
      const reply = await p.send();
      expect(reply.status).toBe(200);
      expect(p.open(reply.body)).toEqual({ version: '3.0', data: { status: 'active' } });
    }
    const text = await scrape();
    const served = (slot: string) =>
      Number(new RegExp(`flowgate_worker_requests_total\\{worker="${slot}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(served('0')).toBeGreaterThan(0);
    expect(served('1')).toBeGreaterThan(0);
    expect(served('0') + served('1')).toBe(16);
  });

  it('then METRICS_PORT serves the sum over workers and wants the token; the main port asks the primary too', async () => {
    expect((await rawRequest(metricsUrl)).status).toBe(401);
    const text = await scrape();
    expect(text).toContain('flowgate_requests_total{flow="book-appointment",screen="",outcome="ping",status="200"} 16');
    expect(text).toContain('flowgate_workers 2');
    expect(text).toMatch(/flowgate_event_loop_delay_p99_seconds\{worker="0"\} \d/);
    expect(text).toMatch(/flowgate_process_resident_memory_bytes\{worker="1"\} \d{7,}/);
    const viaMain = await rawRequest(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(viaMain.status).toBe(200);
    expect(viaMain.body).toContain('outcome="ping",status="200"} 16');
    expect((await rawRequest(`${base}/metrics`)).status).toBe(401);
    for (const secret of [env.META_APP_SECRET, env.FLOW_TOKEN_SECRET, env.TOKEN_API_KEY, METRICS_TOKEN, databaseUrl]) {
      expect(text).not.toContain(secret as string);
    }
  });

  it("then the cluster's view on either port has every metric the README lists, and each worker's process metrics apart", async () => {
    const text = await scrape();
    expect(readmeMismatches(text)).toEqual([]);
    const viaMain = await rawRequest(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(readmeMismatches(viaMain.body)).toEqual([]);
    // prom-client's default metrics, one series per worker rather than a sum of heaps or lags.
    for (const worker of ['0', '1']) {
      expect(text).toMatch(new RegExp(`^nodejs_heap_size_used_bytes\\{worker="${worker}"\\} \\d{6,}$`, 'm'));
      expect(text).toMatch(new RegExp(`^nodejs_eventloop_lag_p99_seconds\\{worker="${worker}"\\} \\S+$`, 'm'));
      expect(text).toMatch(new RegExp(`^process_cpu_seconds_total\\{worker="${worker}"\\} \\S+$`, 'm'));
    }
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    // One exposition: no metric family twice (the primary's own set and the workers' are disjoint).
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(families.length).toBe(new Set(families).size);
  });

  it('then a scrape while a worker cannot answer is a 503, not a partial sum, and the next one is whole again', async () => {
    const stopped = workerPids.get('1') as number;
    process.kill(stopped, 'SIGSTOP');
    try {
      // prom-client waits 5 s for every worker; a stopped one cannot answer.
      const reply = await rawRequest(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(reply.status).toBe(503);
      expect(reply.body).toContain('metrics unavailable');
    } finally {
      process.kill(stopped, 'SIGCONT');
    }
    const text = await scrape();
    expect(text).toContain('flowgate_workers 2');
    expect(text).toMatch(/^flowgate_worker_requests_total\{worker="1"\} [1-9]/m);
  });

  it('then a worker that crashes is restarted and the service keeps answering', async () => {
    const victim = workerPids.get('0') as number;
    process.kill(victim, 'SIGKILL');
    await svc.waitForLog((l) => /^worker 0 exited unexpectedly; restarting in \d+ ms/.test(messageOf(l)));
    const back = await svc.waitForLog((l) => messageOf(l).startsWith('worker 0 listening') && l.pid !== victim);
    workerPids.set('0', back.pid as number);
    for (let i = 0; i < 4; i++) expect((await ping().send()).status).toBe(200);
    expect(await scrape()).toContain('flowgate_worker_restarts_total 1');
    expect((await rawRequest(`${base}/readyz`)).status).toBe(200);
  });

  it('then SIGTERM lets an in-flight request finish, flushes, and every process exits 0', async () => {
    const p = ping();
    const inFlight = rawRequest(`${base}/flows/book-appointment`, {
      body: p.body,
      headers: p.headers,
      // Half the body is sent, then SIGTERM, then the rest a second later.
      slowBody: { pauseMs: 1500, midway: () => setTimeout(() => svc.kill('SIGTERM'), 300) },
    });
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(p.open(reply.body)).toEqual({ version: '3.0', data: { status: 'active' } });
    expect(await svc.exited(25_000)).toEqual({ code: 0, signal: null });
    const messages = svc.logs.map(messageOf);
    expect(messages).toContain('SIGTERM: stopping 2 workers');
    expect(messages.filter((m) => m === 'stopped')).toHaveLength(2);
    expect(messages).toContain('all workers stopped');
    expect(await reachable('127.0.0.1', port)).toBe(false);
  });
});

(databaseUrl ? describe : describe.skip)('when the workers cannot start (the port is taken)', () => {
  it('then the primary stops instead of restarting them in a loop, and exits 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const keys = makeTestKeys();
    const env = testEnv(keys, { PORT: String(port), WEB_CONCURRENCY: '2' });
    const svc = spawnService(env, keys.dir);
    try {
      expect((await svc.exited(30_000)).code).toBe(1);
      expect(svc.stderr.join('')).toMatch(/flowgate cannot start: .*EADDRINUSE/);
      expect(svc.logs.map(messageOf)).toContain('a worker failed to start; stopping');
      expect(svc.logs.map(messageOf).some((m) => m.includes('restarting'))).toBe(false);
    } finally {
      svc.kill('SIGKILL');
      await new Promise<void>((r) => blocker.close(() => r()));
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA as string}" CASCADE`);
      await client.end();
      keys.cleanup();
    }
  });
});
