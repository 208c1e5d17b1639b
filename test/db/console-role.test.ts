import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import {
  auditArgument,
  canonicalJson,
  verifyAuditLog,
  type AuditEvent,
  type ComplianceAuditEvent,
} from '../../src/audit';
import { loadConfig } from '../../src/config';
import { subjectOfPhone } from '../../src/compliance';
import { ConsoleAudit, ConsoleDb } from '../../src/console';
import { runCli } from '../helpers/cli';
import { DbFixture } from '../helpers/db-fixture';
import { walkBookAppointment } from '../helpers/walk';

jest.setTimeout(300_000);

const PHONE = '+14155550301';
let f: DbFixture;

beforeAll(async () => {
  f = new DbFixture();
  const running = await f.startService();
  const { token } = await running.issueToken(PHONE);
  await walkBookAppointment(running.client, token, { name: 'Role Test', email: 'r@example.org', phone: '', notes: '' });
  await f.stopService();
});

afterAll(async () => {
  await f.cleanup();
});

/** The console's own database access, as the console builds it, around `fn`. */
async function asConsole<T>(fn: (db: ConsoleDb) => Promise<T>, consoleUrl?: string): Promise<T> {
  return f.withDb(async (knex) => {
    const config = loadConfig(f.env, { devSecretsDir: f.keys.dir });
    const db = ConsoleDb.open({
      database: config.database,
      consoleUrl: consoleUrl
        ? loadConfig({ ...f.env, CONSOLE_DATABASE_URL: consoleUrl }, { devSecretsDir: f.keys.dir }).console.databaseUrl
        : undefined,
      shared: knex,
    });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  });
}

const WRITES = [
  "INSERT INTO audit_events (chain, seq, occurred_at, kind, outcome, prev_hash, hash) VALUES (99, 1, now(), 'request', 'x', 'x', 'x')",
  'UPDATE audit_events SET outcome = outcome',
  'DELETE FROM audit_events',
  "UPDATE audit_chain_heads SET hash = 'x'",
  'DELETE FROM submissions',
  "UPDATE flow_tokens SET status = 'revoked'",
  'DELETE FROM flow_sessions',
  'DELETE FROM subjects',
  "INSERT INTO console_users (username, password_hash) VALUES ('mallory', 'x')",
  "UPDATE console_users SET password_hash = 'x'",
  'CREATE TABLE console_owned (x int)',
  'TRUNCATE audit_events',
];

function consoleEvent(overrides: Partial<Record<keyof ComplianceAuditEvent, unknown>> = {}): AuditEvent {
  return {
    occurredAt: new Date(),
    kind: 'compliance',
    outcome: 'console_viewed',
    actor: { via: 'console', operator: 'tester' },
    detail: { page: 'test' },
    ...overrides,
  } as AuditEvent;
}

async function appendRaw(trx: Knex.Transaction, argument: Record<string, unknown>): Promise<unknown> {
  const login = ((await trx.raw('SELECT session_user AS u')) as { rows: { u: string }[] }).rows[0]?.u;
  const detail = { ...(argument.detail as object), database_user: login };
  return trx.raw('select console_audit_append(4, ?::jsonb)', [JSON.stringify([{ ...argument, detail }])]);
}

describe("when the console's database access is used to change something", () => {
  it('then the database refuses every write, the audit writer, and reading ciphertext or salts', async () => {
    await asConsole(async (db) => {
      for (const sql of WRITES) {
        await expect(db.read((trx) => trx.raw(sql))).rejects.toThrow(/permission denied|must be owner/);
      }
      const event = JSON.stringify([auditArgument(consoleEvent())]);
      await expect(db.read((trx) => trx.raw('select audit_append(4, ?::jsonb)', [event]))).rejects.toThrow(
        /permission denied/,
      );
      await expect(db.read((trx) => trx.raw('SELECT ciphertext FROM submissions'))).rejects.toThrow(
        /permission denied/,
      );
      await expect(db.read((trx) => trx.raw('SELECT salt FROM subjects'))).rejects.toThrow(/permission denied/);
      // Picker files and consent records only through the export's functions (20261202000025).
      for (const sql of ['SELECT ciphertext FROM media_files', 'SELECT request_id FROM consent_records']) {
        await expect(db.read((trx) => trx.raw(sql))).rejects.toThrow(/permission denied/);
      }
    });
  });

  it("then the export's functions give one named subject's picker files and consents, nobody else's", async () => {
    const subject = subjectOfPhone(PHONE, String(f.env.SUBJECT_HASH_KEY));
    const consents = await asConsole((db) =>
      db.read((trx) => trx.raw('SELECT compliance_subject_consents(?) AS r', [subject])),
    );
    const rows = (consents as { rows: { r: unknown }[] }).rows[0]?.r;
    const list = (typeof rows === 'string' ? JSON.parse(rows) : rows) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ decision: 'granted', source: 'submission' });
    expect(list[0]).not.toHaveProperty('request_id');
    const other = await asConsole((db) =>
      db.read((trx) =>
        trx.raw('SELECT compliance_subject_media(?) AS m, compliance_subject_consents(?) AS c', ['x', 'x']),
      ),
    );
    const row = (other as { rows: { m: unknown; c: unknown }[] }).rows[0];
    const parse = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
    expect([parse(row?.m), parse(row?.c)]).toEqual([[], []]);
  });

  it('then its audit function takes only its own, current, consistent compliance events', async () => {
    await asConsole(async (db) => {
      const refused = async (argument: Record<string, unknown>) =>
        expect(db.read((trx) => appendRaw(trx, argument))).rejects.toThrow(/console|content|current time|compliance/);
      // A request event (would fake traffic), a CLI-looking event, a back-dated one, content that
      // says something else than the columns.
      await refused(auditArgument(consoleEvent({ kind: 'request' })));
      await refused(auditArgument(consoleEvent({ actor: { via: 'cli', operator: 'x' } })));
      await refused(auditArgument(consoleEvent({ occurredAt: new Date(Date.now() - 3600_000) })));
      const honest = auditArgument(consoleEvent());
      await refused({ ...honest, outcome: 'subject_erased' });
      await refused({ ...honest, content: canonicalJson({ ...JSON.parse(honest.content as string), flow_id: 'x' }) });

      // The honest path: recorded with the connection's login, and the chain still verifies.
      await db.read((trx) => new ConsoleAudit(4).record(trx, { user: 'tester', outcome: 'console_viewed' }));
    });
    await f.withDb(async (knex) => {
      const report = await verifyAuditLog(knex);
      expect(report.firstBroken).toBeUndefined();
      const row = await knex('compliance_actions').where({ outcome: 'console_viewed' }).first('detail');
      expect(row.detail).toMatchObject({ via: 'console', operator: 'tester' });
    });
  });

  const withLogins = process.env.DATABASE_URL ? it : it.skip;
  withLogins('then with its own login (CONSOLE_DATABASE_URL) even RESET ROLE gives it no write', async () => {
    const user = `fgt_console_${randomBytes(4).toString('hex')}`;
    await f.withDb((knex) => knex.raw(`CREATE ROLE ${user} LOGIN IN ROLE flowgate_compliance`));
    try {
      const url = new URL(process.env.DATABASE_URL as string);
      url.username = user;
      url.password = '';
      await asConsole(async (db) => {
        for (const sql of WRITES.slice(0, 5)) {
          await expect(
            db.read(async (trx) => {
              await trx.raw('RESET ROLE');
              return trx.raw(sql);
            }),
          ).rejects.toThrow(/permission denied/);
        }
        await db.read((trx) => new ConsoleAudit(4).record(trx, { user: 'tester', outcome: 'console_signed_in' }));
      }, url.toString());
      await f.withDb(async (knex) => {
        const row = await knex('compliance_actions').where({ outcome: 'console_signed_in' }).first('detail');
        expect(row.detail).toMatchObject({ database_user: user, operator: 'tester' });
      });
    } finally {
      await f.withDb(async (knex) => {
        await knex.raw(`REASSIGN OWNED BY ${user} TO CURRENT_USER`).catch(() => undefined);
        await knex.raw(`DROP OWNED BY ${user}`).catch(() => undefined);
        await knex.raw(`DROP ROLE ${user}`);
      });
    }
  });
});

describe('when an administrator manages console users with npm run console', () => {
  const cli = (args: string[], input?: string) => runCli('console', args, { env: f.env, input });

  it('then a user is added with a hashed password, listed, and each change is audited', async () => {
    const added = await cli(['add-user', 'carol.c', '--reason', 'TICKET-12'], 'a long enough password\n');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const weak = await cli(['add-user', 'dave'], 'short\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('at least 12 characters');
    const badName = await cli(['add-user', 'dave smith'], 'a long enough password\n');
    expect(badName.code).toBe(2);
    const list = await cli(['list-users']);
    expect(list.stdout).toContain('carol.c');
    expect(list.stdout).not.toContain('scrypt');
    expect((await cli(['set-password', 'carol.c'], 'a different long password\n')).code).toBe(0);
    await f.withDb(async (knex) => {
      const row = await knex('console_users').where({ username: 'carol.c' }).first('password_hash');
      expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
      expect(row.password_hash).not.toContain('long');
      const events = (await knex('compliance_actions').whereIn('outcome', [
        'console_user_added',
        'console_user_password_set',
      ])) as {
        detail: Record<string, unknown>;
      }[];
      expect(events.map((e) => e.detail.console_user)).toEqual(['carol.c', 'carol.c']);
      expect(events[0]?.detail.reason).toBe('TICKET-12');
    });
    const removed = await cli(['remove-user', 'carol.c']);
    expect(removed.stdout).toContain('removed console user carol.c');
  });
});
