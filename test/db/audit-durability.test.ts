import http from 'node:http';
import { AuditLog, verifyAuditLog, type AuditEvent } from '../../src/audit';
import { entry, send, type BenchServer, type PoolEntry } from '../../src/bench';
import { Secret } from '../../src/config/secret';
import { createLogger } from '../../src/logging';
import { openDatabase } from '../../src/storage';
import { freePort } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

/** The bench's node:crypto sealer, pointed at the test service. */
function sealer(): Pick<BenchServer, 'publicKeyPem' | 'appSecret'> {
  return { publicKeyPem: t.keys.publicKeyPem, appSecret: t.env.META_APP_SECRET as string };
}

function ping(): PoolEntry {
  return entry(sealer() as BenchServer, { version: '3.0', action: 'ping' }, () => true);
}

function exchange(token: string, screen: string, data: Record<string, unknown>, action = 'data_exchange'): PoolEntry {
  return entry(sealer() as BenchServer, { version: '3.0', action, flow_token: token, screen, data }, () => true);
}

async function eventsOf(requestIds: readonly string[]): Promise<Map<string, number>> {
  const rows = (await t.service.database
    .knex('audit_events')
    .whereIn('request_id', [...requestIds])
    .select('request_id', 'http_status')) as { request_id: string; http_status: number }[];
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.request_id, (counts.get(r.request_id) ?? 0) + 1);
  return counts;
}

const event = (outcome: string): AuditEvent => ({ occurredAt: new Date(), kind: 'request', outcome });

describe('when many requests are answered concurrently (group commit and session transactions)', () => {
  it('then every request answered 200 has exactly one audit event, and every chain verifies', async () => {
    const url = new URL(t.baseUrl);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => t.issueToken(`+1415555020${i}`)));
    const requests: PoolEntry[] = [];
    for (let i = 0; i < 160; i++) requests.push(ping());
    for (const token of tokens) {
      requests.push(exchange(token, '', {}, 'INIT'));
      for (let i = 0; i < 5; i++)
        requests.push(exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date: 'x' }));
    }
    const replies = await Promise.all(requests.map((r) => send(agent, url, r, 30_000)));
    agent.destroy();
    const answered = replies.filter((r) => r.status === 200).map((r) => r.requestId as string);
    expect(answered.length).toBeGreaterThanOrEqual(160);
    const counts = await eventsOf(answered);
    const missing = answered.filter((id) => counts.get(id) !== 1);
    expect(missing).toEqual([]);
    expect((await verifyAuditLog(t.service.database.knex)).ok).toBe(true);
  });
});

describe('when a caller appends again the moment its batch is acknowledged', () => {
  it('then that event is written too, instead of waiting for a later request to drain it', async () => {
    const audit = t.service.audit;
    const before = Number(
      ((await t.service.database.knex('audit_events').count({ n: '*' })) as { n: unknown }[])[0]?.n,
    );
    let hang: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => {
      hang = setTimeout(() => resolve('stalled'), 20_000);
    });
    const chain = (async () => {
      for (let i = 0; i < 25; i++) await audit.append(event('back_to_back'));
      return 'done';
    })();
    await expect(Promise.race([chain, stalled])).resolves.toBe('done');
    clearTimeout(hang);
    const after = Number(((await t.service.database.knex('audit_events').count({ n: '*' })) as { n: unknown }[])[0]?.n);
    expect(after - before).toBe(25);
  });
});

describe('when more transactions append at once than there are chains', () => {
  it('then each waits for a chain and every event is written, chained and verifiable', async () => {
    const knex = t.service.database.knex;
    const audit = new AuditLog(t.service.database, { enabled: true, chains: 2, batchMax: 8 }, t.service.logger);
    const before = Number(((await knex('audit_events').count({ n: '*' })) as { n: unknown }[])[0]?.n);
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        knex.transaction(async (trx) => {
          await audit.appendInTransaction(trx, event(`contended_${i}`));
          await trx.raw('select pg_sleep(0.02)');
        }),
      ),
    );
    const after = Number(((await knex('audit_events').count({ n: '*' })) as { n: unknown }[])[0]?.n);
    expect(after - before).toBe(24);
    expect((await verifyAuditLog(knex)).ok).toBe(true);
  });
});

describe('when an audited value holds characters PostgreSQL cannot store (NUL, unpaired surrogates)', () => {
  it('then the event is still stored, with U+FFFD in their place, and the chain verifies', async () => {
    // Client text never reaches the audit log (an error notification keeps only its key,
    // length and a keyed hash), so the writer is fed such a value directly: it must cope with any.
    await t.service.audit.append({ ...event('odd_characters'), detail: { note: 'bad \ud800 pair\u0000!' } });
    await t.service.audit.flush();
    const row = (await t.service.database
      .knex('audit_events')
      .where({ outcome: 'odd_characters' })
      .orderBy('occurred_at', 'desc')
      .first('detail')) as { detail: unknown };
    expect(JSON.stringify(row.detail)).toContain('bad \ufffd pair\ufffd!');
    expect((await verifyAuditLog(t.service.database.knex)).ok).toBe(true);
  });

  it('then an error notification carrying them is acknowledged and its text is not stored', async () => {
    const token = await t.issueToken('+14155550299');
    const reply = await t.client().send({
      version: '3.0',
      action: 'data_exchange',
      flow_token: token,
      screen: 'APPOINTMENT',
      data: { error: 'x', error_message: 'bad \ud800 pair' },
    });
    expect(reply.status).toBe(200);
    await t.service.audit.flush();
    const row = (await t.service.database
      .knex('audit_events')
      .where({ outcome: 'error_notification' })
      .orderBy('occurred_at', 'desc')
      .first('detail')) as { detail: unknown };
    expect(JSON.stringify(row.detail)).not.toContain('pair');
    expect((await verifyAuditLog(t.service.database.knex)).ok).toBe(true);
  });
});

describe('when the group commit cannot be written', () => {
  it('then no caller of that batch is acknowledged (every append rejects)', async () => {
    // A real pool pointed at a port nothing listens on: every connection attempt is refused.
    const silent = createLogger({ level: 'error', format: 'json', silent: true });
    const broken = await openDatabase(
      {
        url: new Secret(`postgres://postgres@127.0.0.1:${await freePort()}/none`),
        schema: 'public',
        poolMax: 2,
        pgliteDataDir: 'memory://',
      },
      { logger: silent },
    );
    const audit = new AuditLog(broken, { enabled: true, chains: 2, batchMax: 8 }, silent);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => audit.append(event('lost'))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(0);
    await audit.flush();
    await broken.close();
  });
});
