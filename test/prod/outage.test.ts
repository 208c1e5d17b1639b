import http from 'node:http';
import { entry, openEndpointResponse, send, type BenchServer, type PoolEntry } from '../../src/bench';
import { verifyAuditLog } from '../../src/audit';
import { freeSlots } from '../../src/flows/book-appointment/calendar';
import { servicesRequired } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';
import { findPostgresBin, startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres';

/**
 * A database outage under load, on a PostgreSQL server of the test's own (never the shared one):
 * requests fail fast with a clean 503 while it is down, the service recovers by itself when it is
 * back, and every request that was answered with success has its audit event — and every
 * completion its submission.
 */
const bin = findPostgresBin();
if (!bin) {
  // In CI the PostgreSQL server binaries are there (the machine runs PostgreSQL): missing is a failure.
  if (servicesRequired()) throw new Error('outage test needs initdb under /usr/lib/postgresql/*/bin');
  console.warn('outage test skipped: no initdb under /usr/lib/postgresql/*/bin');
}
const describeWithPostgres = bin ? describe : describe.skip;

interface Outcome {
  readonly kind: 'ping' | 'step';
  readonly phase: 'before' | 'down' | 'after';
  readonly status: number;
  readonly ms: number;
  readonly body: string;
  readonly requestId: string | undefined;
}

let pg: ThrowawayPostgres;
let t: TestService;

beforeAll(async () => {
  if (!bin) return;
  pg = await startThrowawayPostgres(bin);
  t = await startTestService({
    env: {
      DATABASE_URL: pg.url,
      DATABASE_SCHEMA: 'flowgate_outage',
      RATE_LIMIT_PER_TOKEN_PER_MINUTE: '100000',
      RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '100000',
    },
  });
}, 120_000);

afterAll(async () => {
  if (!bin) return;
  await t?.stop();
  await pg?.destroy();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeWithPostgres('when the database goes down under load and comes back', () => {
  it('then requests fail fast and cleanly, the service recovers alone, and no success lacks its records', async () => {
    const sealer = { publicKeyPem: t.keys.publicKeyPem, appSecret: t.env.META_APP_SECRET } as BenchServer;
    const url = new URL(t.baseUrl);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    // One at a time: 200 concurrent issues queue on the pool and, on a loaded machine, time out.
    const tokens: Awaited<ReturnType<typeof t.service.tokens.issue>>[] = [];
    for (let i = 0; i < 200; i++) {
      tokens.push(
        await t.service.tokens.issue(
          { flowId: 'book-appointment', phone: `+1415555${String(3000 + i)}` },
          { via: 'api' },
        ),
      );
    }
    // One distinct slot per walk, so no walk fails because another booked its time.
    const slots: { date: string; time: string }[] = [];
    for (let d = 1; d <= 30; d++) {
      const date = new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
      for (const s of freeSlots(date)) slots.push({ date, time: s.id });
    }

    const outcomes: Outcome[] = [];
    const completed: string[] = [];
    let phase: Outcome['phase'] = 'before';
    let running = true;

    const call = async (kind: Outcome['kind'], req: PoolEntry): Promise<{ status: number; json: unknown }> => {
      const at = phase;
      const started = performance.now();
      let status = 0;
      let body = '';
      let requestId: string | undefined;
      try {
        const res = await send(agent, url, req, 30_000);
        ({ status, body, requestId } = res);
      } catch (err) {
        body = String((err as Error).message);
      }
      outcomes.push({ kind, phase: at, status, ms: performance.now() - started, body, requestId });
      const json = status === 200 ? openEndpointResponse(body, req.sealed.aesKey, req.sealed.iv) : undefined;
      return { status, json };
    };

    const pinger = async (): Promise<void> => {
      while (running) {
        await call(
          'ping',
          entry(sealer, { version: '3.0', action: 'ping' }, () => true),
        );
        await sleep(20);
      }
    };

    let nextToken = 0;
    const walker = async (): Promise<void> => {
      while (running && nextToken < tokens.length && slots.length > 0) {
        const token = tokens[nextToken++]!;
        const slot = slots.shift()!;
        const steps: [string, string, Record<string, unknown>][] = [
          ['INIT', '', {}],
          ['data_exchange', 'APPOINTMENT', { trigger: 'date_selected', date: slot.date }],
          [
            'data_exchange',
            'APPOINTMENT',
            { trigger: 'appointment_chosen', department: 'general', location: 'north', ...slot },
          ],
          ['data_exchange', 'DETAILS', { name: 'Ana', email: 'ana@example.com', phone: '', notes: '' }],
          ['data_exchange', 'SUMMARY', { consent: true }],
        ];
        walk: for (const [action, screen, data] of steps) {
          for (;;) {
            if (!running) return;
            const payload = { version: '3.0', action, screen, data, flow_token: token.token };
            const { status, json } = await call(
              'step',
              entry(sealer, payload, () => true),
            );
            if (status === 200) {
              if ((json as { screen?: string } | undefined)?.screen === 'SUCCESS') completed.push(token.id);
              // Paced like a person, at most 20 steps/s per walker: unpaced, a fast machine finished
              // all 200 walks before the database went down, and the test saw no step fail or recover.
              await sleep(50);
              break;
            }
            if (status === 427) break walk; // completed by a commit whose answer was lost: not a success
            await sleep(100); // WhatsApp retries; so does this walker
          }
        }
      }
    };

    const load = Promise.all([pinger(), pinger(), walker(), walker(), walker(), walker()]);
    await sleep(3000);
    phase = 'down';
    await pg.stop('immediate');
    await sleep(6000);
    await pg.start();
    phase = 'after';
    const restarted = performance.now();
    while (performance.now() - restarted < 60_000) {
      const after = outcomes.filter((o) => o.phase === 'after' && o.status === 200);
      if (after.some((o) => o.kind === 'ping') && after.filter((o) => o.kind === 'step').length >= 5) break;
      await sleep(250);
    }
    await sleep(2000);
    running = false;
    await load;
    agent.destroy();

    const by = (p: Outcome['phase']): Outcome[] => outcomes.filter((o) => o.phase === p);
    // Before: the load worked. Down: it failed, cleanly (503, no body, no stack, no hang).
    expect(by('before').filter((o) => o.status === 200).length).toBeGreaterThan(10);
    expect(by('down').filter((o) => o.status === 503).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => ![200, 427, 503].includes(o.status)).slice(0, 3)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 503 && o.body !== '').slice(0, 3)).toEqual([]);
    expect(outcomes.filter((o) => o.ms > 10_000).map((o) => ({ ...o, body: '' }))).toEqual([]);
    // After: recovered without a restart of the service.
    expect(by('after').filter((o) => o.status === 200 && o.kind === 'ping').length).toBeGreaterThan(0);
    expect(by('after').filter((o) => o.status === 200 && o.kind === 'step').length).toBeGreaterThanOrEqual(5);

    // Every success has its audit event; every completion its submission and a completed token.
    await t.service.audit.flush();
    const knex = t.service.database.knex;
    const successes = outcomes.filter((o) => o.status === 200).map((o) => o.requestId as string);
    const audited = new Set<string>();
    for (let i = 0; i < successes.length; i += 500) {
      const rows = (await knex('audit_events')
        .whereIn('request_id', successes.slice(i, i + 500))
        .select('request_id')) as { request_id: string }[];
      rows.forEach((r) => audited.add(r.request_id));
    }
    expect(successes.filter((id) => !audited.has(id))).toEqual([]);
    const submitted = new Set(
      ((await knex('submissions').whereIn('token_id', completed).select('token_id')) as { token_id: string }[]).map(
        (r) => r.token_id,
      ),
    );
    expect(completed.filter((id) => !submitted.has(id))).toEqual([]);
    const statuses = (await knex('flow_tokens').whereIn('id', completed).select('status')) as { status: string }[];
    expect(statuses.every((s) => s.status === 'completed')).toBe(true);
    expect((await verifyAuditLog(knex)).ok).toBe(true);
    expect(t.logs.filter((l) => l.includes('unhandled error'))).toEqual([]);

    console.log(
      `outage: ${outcomes.length} requests (${by('before').length} before, ${by('down').length} down, ${by('after').length} after); ` +
        `${successes.length} successes audited, ${completed.length} completions with submissions; ` +
        `slowest answer ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms`,
    );
  }, 180_000);
});
