import { createHmac } from 'node:crypto';
import { rawRequest } from '../helpers/net';
import { readmeMetrics, readmeMismatches } from '../helpers/readme-metrics';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

describe('when METRICS_TOKEN is set', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ env: { METRICS_TOKEN } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const scrape = (authorization?: string) =>
    fetch(`${t.baseUrl}/metrics`, { headers: authorization ? { authorization } : {} });

  it('then /metrics on the main port wants the bearer token (401 without it or with a wrong one)', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('Bearer wrong')).status).toBe(401);
    expect((await scrape(`Basic ${METRICS_TOKEN}`)).status).toBe(401);
    const res = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('then requests by flow, screen, outcome and status, latency, decrypt and signature failures, RSA time and audit batches are counted', async () => {
    const client = t.client();
    ok(await client.ping());
    const token = await t.issueToken('+14155550111');
    ok(await client.init(token));
    // A well-formed envelope under another key: 421. Sent with node:http, because fetch (undici)
    // retries a 421 by itself and would make it two requests.
    const body = JSON.stringify({
      encrypted_flow_data: Buffer.alloc(40).toString('base64'),
      encrypted_aes_key: Buffer.alloc(256).toString('base64'),
      initial_vector: Buffer.alloc(16).toString('base64'),
    });
    const signature = `sha256=${createHmac('sha256', t.env.META_APP_SECRET as string)
      .update(body)
      .digest('hex')}`;
    const badKey = await rawRequest(client.url, {
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    });
    expect(badKey.status).toBe(421);
    expect((await t.client(undefined, { signed: false }).ping()).status).toBe(432);

    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    const flow = 'book-appointment';
    expect(text).toContain(`flowgate_requests_total{flow="${flow}",screen="",outcome="ping",status="200"} 1`);
    expect(text).toMatch(
      new RegExp(`flowgate_requests_total\\{flow="${flow}",screen="",outcome="\\w+",status="200"\\} \\d`),
    );
    expect(text).toContain(`flowgate_requests_total{flow="${flow}",screen="",outcome="cannot_decrypt",status="421"} 1`);
    expect(text).toContain(`flowgate_decrypt_failures_total{flow="${flow}"} 1`);
    expect(text).toContain(`flowgate_signature_failures_total{flow="${flow}"} 1`);
    // prom-client puts `le` first among a bucket's labels.
    expect(text).toMatch(
      /flowgate_request_duration_seconds_bucket\{le="\+Inf",flow="book-appointment",status="200"\} [2-9]/,
    );
    expect(text).toMatch(/flowgate_audit_batch_size_count [1-9]/);
    // ping, INIT and the envelope under another key each cost one RSA operation; the 432 none.
    expect(text).toMatch(/^flowgate_rsa_decrypts_total 3$/m);
    const rsaSeconds = Number(/^flowgate_rsa_decrypt_seconds_total (\S+)$/m.exec(text)?.[1]);
    expect(rsaSeconds).toBeGreaterThan(0);
    expect(rsaSeconds).toBeLessThan(10);
  });

  it("then every metric the README's table lists is on /metrics with its type, and no flowgate_ metric is missing from the table", async () => {
    const documented = readmeMetrics();
    // The parse found the table (a broken one would make the check vacuous).
    expect(documented.length).toBeGreaterThan(30);
    expect(documented).toContainEqual({ name: 'flowgate_requests_total', type: 'counter' });
    expect(documented).toContainEqual({ name: 'nodejs_gc_duration_seconds', type: 'histogram' });
    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    expect(readmeMismatches(text, documented)).toEqual([]);
    // The check itself sees a missing metric.
    expect(readmeMismatches(text.replace(/^# TYPE flowgate_workers gauge$/m, ''), documented)).toEqual([
      'flowgate_workers: in the README, not on /metrics',
    ]);
  });

  it("then prom-client's default process metrics are there under their standard names, labelled with the worker slot", async () => {
    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{worker="0"\} [\d.e+-]+$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{worker="0"\} \d{6,}$/m);
    expect(text).toMatch(/^process_cpu_seconds_total\{worker="0"\} [\d.e+-]+$/m);
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(text).toMatch(/^flowgate_event_loop_delay_p99_seconds\{worker="0"\} [\d.e+-]+$/m);
    expect(text).toMatch(/^flowgate_process_resident_memory_bytes\{worker="0"\} \d{7,}$/m);
  });

  it('then the exposition never carries a secret, a token, a phone number or an address', async () => {
    const token = await t.issueToken('+14155550112');
    ok(await t.client().init(token));
    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    for (const [name, value] of Object.entries(t.env)) {
      if (!value || value.length < 16 || !/SECRET|KEY|TOKEN|DATABASE_URL/.test(name)) continue;
      expect(text).not.toContain(value);
    }
    expect(text).not.toContain(token);
    expect(text).not.toContain('4155550112');
    expect(text).not.toContain('127.0.0.1');
  });
});

describe('when METRICS_TOKEN is not set', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('then /metrics on the main port does not exist (404), with or without a token', async () => {
    expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: 'Bearer x' } })).status).toBe(404);
  });
});
