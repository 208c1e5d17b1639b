import type { Knex } from 'knex';
import { AuditLog, verifyAuditLog, type AuditActor, type AuditEvent } from '../../src/audit';
import { defineFlow, defineScreen, type FlowDefinition } from '../../src/flow-api';
import bookAppointment from '../../src/flows/book-appointment';
import { createLogger } from '../../src/logging';
import { DbFixture } from '../helpers/db-fixture';
import { ok, pickBookableDate } from '../helpers/walk';

jest.setTimeout(180_000);

const silent = createLogger({ level: 'error', format: 'json', silent: true });
const event = (outcome: string): AuditEvent => ({ occurredAt: new Date(), kind: 'request', outcome });

let f: DbFixture;
beforeAll(async () => {
  f = new DbFixture({ AUDIT_CHAINS: '2' });
  const running = await f.startService();
  const { token } = await running.issueToken('+14155550111');
  ok(await running.client.init(token));
  ok(await running.client.ping());
  await f.withDb(async (_knex, db) => {
    const audit = new AuditLog(db, { enabled: true, chains: 2, batchMax: 4 }, silent);
    for (let i = 0; i < 30; i++) await audit.append(event(`filler_${i}`));
  });
});
afterAll(async () => {
  await f.cleanup();
});

/** Runs `fn` in a transaction with triggers off: the superuser's way around the append-only rule. */
async function asSuperuserWithoutTriggers(knex: Knex, fn: (trx: Knex.Transaction) => Promise<unknown>) {
  await knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await fn(trx);
  });
}

describe('when a compliance event is written', () => {
  it('then the database takes it only with database_user = the login writing it (migration 20261129000008)', async () => {
    await f.withDb(async (knex) => {
      // Straight into the table, as a login with INSERT on it could: the trigger is on the table.
      const row = (kind: string, detail: unknown) => ({
        chain: 1,
        seq: 1_000_000,
        occurred_at: new Date(),
        kind,
        outcome: 'forged',
        detail: JSON.stringify(detail),
        prev_hash: 'x',
        hash: 'x',
      });
      const refusal = /must carry the login that writes it/;
      for (const detail of [
        { operator: 'kim', reason: 'T-1', database_user: 'kims_boss' }, // another login
        { operator: 'kim', reason: 'T-1' }, // none
        { via: 'api', revoked: 1 }, // naming nobody is no way around it
        null,
        [{ operator: 'kim', database_user: 'kims_boss' }], // not an object
      ]) {
        await expect(knex('audit_events').insert(row('compliance', detail))).rejects.toThrow(refusal);
      }
      await expect(knex('audit_events').insert(row('Compliance', { operator: 'kim' }))).rejects.toThrow(
        /audit_events_kind/,
      );
    });
  });

  it('then the audit log names the login it writes with, whatever the event claimed', async () => {
    await f.withDb(async (knex, db) => {
      const login = ((await knex.raw('SELECT session_user AS login')) as { rows: { login: string }[] }).rows[0]?.login;
      const audit = new AuditLog(db, { enabled: true, chains: 2, batchMax: 4 }, silent);
      const compliance = (actor: AuditActor): AuditEvent => ({
        occurredAt: new Date(),
        kind: 'compliance',
        outcome: 'subject_exported',
        actor,
      });
      await audit.append(compliance({ via: 'cli', operator: 'kim', reason: 'T-1', databaseUser: 'kims_boss' }));
      await audit.append(compliance({ via: 'api' }));
      await knex.transaction((trx) => audit.appendInTransaction(trx, compliance({ via: 'cli', operator: 'lee' })));
      const written = await knex('audit_events').where({ outcome: 'subject_exported' }).pluck('detail');
      expect(written).toHaveLength(3);
      expect(written).toEqual(
        expect.arrayContaining([
          { via: 'cli', operator: 'kim', reason: 'T-1', database_user: login },
          { via: 'api', database_user: login },
          { via: 'cli', operator: 'lee', database_user: login },
        ]),
      );
      expect((await verifyAuditLog(knex)).ok).toBe(true);
    });
  });
});

describe('when someone tries to change the audit log', () => {
  it('then UPDATE, DELETE and TRUNCATE are refused by the trigger', async () => {
    await f.withDb(async (knex) => {
      await expect(knex('audit_events').update({ outcome: 'x' })).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(knex('audit_events').where({ chain: 0, seq: 1 }).delete()).rejects.toThrow(
        /append-only: DELETE refused/,
      );
      await expect(knex.raw('TRUNCATE audit_events')).rejects.toThrow(/append-only: TRUNCATE refused/);
      expect((await verifyAuditLog(knex)).ok).toBe(true);
    });
  });

  it('then `audit verify` names the chain and seq of an altered row and exits 1', async () => {
    const target = await f.withDb(async (knex) => {
      const row = (await knex('audit_events').where({ chain: 1 }).orderBy('seq').offset(2).first('chain', 'seq')) as {
        chain: number;
        seq: number;
      };
      await asSuperuserWithoutTriggers(knex, (trx) =>
        trx('audit_events').where({ chain: row.chain, seq: row.seq }).update({ outcome: 'forged' }),
      );
      return { chain: Number(row.chain), seq: Number(row.seq) };
    });
    const r = await f.cli('audit', ['verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`BROKEN at chain ${target.chain} seq ${target.seq}: content does not match its hash`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('then a removed row is reported as the gap where it was (chain 0 comes before the altered chain 1)', async () => {
    const seq = await f.withDb(async (knex) => {
      const row = (await knex('audit_events').where({ chain: 0 }).orderBy('seq').offset(1).first('seq')) as {
        seq: number;
      };
      await asSuperuserWithoutTriggers(knex, (trx) => trx('audit_events').where({ chain: 0, seq: row.seq }).delete());
      return Number(row.seq);
    });
    const r = await f.cli('audit', ['verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`BROKEN at chain 0 seq ${seq}: row ${seq} is missing`);
  });
});

describe('when the database fails under the audit writer', () => {
  it('then an event appended by a caller resumed from the previous commit is still written', async () => {
    await f.withDb(async (knex, db) => {
      const audit = new AuditLog(db, { enabled: true, chains: 2, batchMax: 8 }, silent);
      // Each append starts right where the previous caller resumes: a race that can hang a naive writer.
      const started = Date.now();
      for (let i = 0; i < 10; i++) await audit.append(event(`sequential_${i}`));
      expect(Date.now() - started).toBeLessThan(5000);
      const row = await knex('audit_events').where('outcome', 'like', 'sequential_%').count('* as n').first();
      expect(Number(row?.n)).toBe(10);
    });
  });

  it('then append rejects promptly instead of hanging', async () => {
    await f.withDb(async (knex, db) => {
      const audit = new AuditLog(db, { enabled: true, chains: 2, batchMax: 8 }, silent);
      await knex.raw('ALTER TABLE audit_chain_heads RENAME TO audit_chain_heads_away');
      try {
        await expect(audit.append(event('lost'))).rejects.toThrow();
        await expect(audit.append(event('lost_too'))).rejects.toThrow();
      } finally {
        await knex.raw('ALTER TABLE audit_chain_heads_away RENAME TO audit_chain_heads');
      }
      await audit.append(event('recovered'));
    });
  });
});

describe('when one event of a group commit cannot be written', () => {
  it('then only that event fails; the others of its batch are written', async () => {
    await f.withDb(async (knex, db) => {
      const audit = new AuditLog(db, { enabled: true, chains: 2, batchMax: 8 }, silent);
      // An event that cannot be written (here: no valid time) fails its batch's statement as a whole.
      const results = await Promise.allSettled([
        audit.append(event('batch_ok_1')),
        audit.append({ ...event('batch_poison'), occurredAt: new Date(Number.NaN) }),
        audit.append(event('batch_ok_2')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const written = await knex('audit_events').where('outcome', 'like', 'batch_%').pluck('outcome');
      expect(written.sort()).toEqual(['batch_ok_1', 'batch_ok_2']);
    });
  });
});

describe('when a handler registers afterCommit work', () => {
  const ran: { outcome: string; sessionCommitted: boolean }[] = [];

  function flowWith(onInit: FlowDefinition['onInit']): FlowDefinition {
    return defineFlow({ ...bookAppointment, onInit });
  }

  it('then the task runs after the transaction committed, and not at all when it rolled back', async () => {
    const serviceDb: { knex?: Knex } = {};
    const flow = flowWith(async (request, ctx) => {
      const mode = ctx.session.get<string>('mode');
      ctx.afterCommit(async () => {
        const row = await serviceDb.knex?.('flow_sessions').count('* as n').first();
        ran.push({ outcome: 'task', sessionCommitted: Number(row?.n ?? 0) > 0 });
      });
      // The first INIT commits; the second stores more than a session may hold, so its
      // transaction rolls back (and the request fails with 500).
      if (mode === undefined) ctx.session.set('mode', 'grow');
      else ctx.session.set('big', 'x'.repeat(300 * 1024));
      return bookAppointment.onInit(request, ctx);
    });
    await f.stopService();
    const running = await f.startService({ flows: [flow] });
    serviceDb.knex = running.service.database.knex;
    const { token } = await running.issueToken('+14155550112');
    ok(await running.client.init(token));
    await new Promise((r) => setTimeout(r, 300));
    expect(ran).toEqual([{ outcome: 'task', sessionCommitted: true }]);

    const failed = await running.client.init(token);
    expect(failed.status).toBe(500);
    await new Promise((r) => setTimeout(r, 300));
    expect(ran).toHaveLength(1);
    await f.stopService();
  });

  it('then the task of a handler that failed (its result rejected, the session still saved) never runs', async () => {
    const tasks: string[] = [];
    const original = bookAppointment.screens.find((s) => s.screen === 'DETAILS');
    const failingDetails = defineScreen('DETAILS', {
      onBack: original?.onBack,
      onDataExchange(_request, ctx) {
        ctx.afterCommit(() => {
          tasks.push('ran');
        });
        throw new Error('CRM unreachable');
      },
    });
    const flow = defineFlow({
      ...bookAppointment,
      screens: bookAppointment.screens.map((s) => (s.screen === 'DETAILS' ? failingDetails : s)),
    });
    const running = await f.startService({ flows: [flow] });
    const { token } = await running.issueToken('+14155550113');
    const client = running.client;
    ok(await client.init(token));
    const { date, time } = await pickBookableDate(client, token);
    const details = ok(
      await client.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'general',
        location: 'north',
        date,
        time,
      }),
    );
    expect(details.screen).toBe('DETAILS');
    const reply = ok(await client.exchange(token, 'DETAILS', { name: 'Nora Test', email: 'nora@example.org' }));
    expect(reply.screen).toBe('DETAILS');
    expect((reply.data as { error_message?: string }).error_message).toMatch(/Something went wrong/);
    await new Promise((r) => setTimeout(r, 300));
    expect(tasks).toEqual([]);
    await f.stopService();
  });
});
