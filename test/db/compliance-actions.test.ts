import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { recordableAccount } from '../../src/compliance';
import { DbFixture } from '../helpers/db-fixture';
import { ok, walkBookAppointment } from '../helpers/walk';

jest.setTimeout(180_000);

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const WRONG_K1 = `k1:${randomBytes(32).toString('base64')}`;

const A = '+14155550201'; // walks to completion; their submission is aged past retention
const B = '+14155550202'; // opens the flow only: an active token and a session
const C = '+14155550203'; // walks to completion
const D = '+14155550204'; // gets a token that the CLI revokes
const answers = (who: string) => ({
  name: `Person ${who}`,
  email: `${who}@example.org`,
  phone: '',
  notes: `notes ${who}`,
});

let f: DbFixture;
const tokens: Record<string, { token: string; id: string }> = {};
const submissionOf: Record<string, string> = {};

beforeAll(async () => {
  f = new DbFixture({ SUBMISSION_KEYS: K1 });
  const running = await f.startService();
  for (const phone of [A, B, C, D]) tokens[phone] = await running.issueToken(phone);
  await walkBookAppointment(running.client, tokens[A].token, answers('a'));
  ok(await running.client.init(tokens[B].token));
  await walkBookAppointment(running.client, tokens[C].token, answers('c'));
  await f.withDb(async (knex) => {
    for (const phone of [A, C]) {
      const row = await knex('submissions').where({ token_id: tokens[phone].id }).first('id');
      submissionOf[phone] = row.id as string;
    }
  });
});
afterAll(async () => {
  await f.cleanup();
});

const decrypt = (phone: string, keys: string) =>
  f.cli('submissions', ['decrypt', submissionOf[phone], '--operator', 'kim', '--reason', 'check'], {
    SUBMISSION_KEYS: keys,
  });

describe('when the submission keyring is wrong or rotated', () => {
  it('then a wrong key value or a missing key id gives a clear error, exit 1, no stack', async () => {
    const wrong = await decrypt(A, WRONG_K1);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain('cannot be decrypted with SUBMISSION_KEYS');
    expect(wrong.stderr).toContain('does not authenticate');
    expect(wrong.stderr).toContain('sealed with key "k1"');
    const missing = await decrypt(A, K2);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no key "k1" in the keyring');
    for (const r of [wrong, missing]) {
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain(WRONG_K1.slice(3));
      expect(r.stderr).not.toContain(K2.slice(3));
    }
    const failures = await f.withDb((knex) => knex('compliance_actions').where({ outcome: 'submission_read_failed' }));
    expect(failures).toHaveLength(2);
  });

  it('then old rows stay readable while a new key is current, and reencrypt moves every row to it', async () => {
    const meanwhile = await decrypt(A, `${K2},${K1}`);
    expect(meanwhile.code).toBe(0);
    expect(JSON.parse(meanwhile.stdout).keyId).toBe('k1');

    const r = await f.cli('submissions', ['reencrypt'], { SUBMISSION_KEYS: `${K2},${K1}` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('re-encrypted 2 submission(s) and 3 session(s) under key "k2"; rows per key now: k2=5');
    const keys = await f.withDb(async (knex) => ({
      submissions: await knex('submissions').distinct('key_id').pluck('key_id'),
      sessions: await knex('flow_sessions').distinct('state_key_id').pluck('state_key_id'),
    }));
    expect(keys).toEqual({ submissions: ['k2'], sessions: ['k2'] });

    const newOnly = await decrypt(C, K2);
    expect(newOnly.code).toBe(0);
    expect(JSON.parse(newOnly.stdout).data.DETAILS.notes).toBe('notes c');
    expect((await decrypt(C, K1)).stderr).toContain('no key "k2" in the keyring');

    // The service, now with only the new key, continues B's re-encrypted session.
    const running = await f.startService({ env: { SUBMISSION_KEYS: K2 } });
    ok(await running.client.init(tokens[B].token));
    await f.stopService();
  });
});

describe('when retention runs', () => {
  it('then purge deletes rows older than the limit and keeps newer ones', async () => {
    await f.withDb((knex) =>
      knex('submissions')
        .where({ id: submissionOf[A] })
        .update({ created_at: new Date(Date.now() - 400 * 86_400_000) }),
    );
    const r = await f.cli('submissions', ['purge', '--older-than-days', '365'], { SUBMISSION_KEYS: K2 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^purged 1 submission\(s\) and 0 session\(s\) older than 365 day\(s\)/);
    const left = await f.withDb((knex) => knex('submissions').pluck('id'));
    expect(left).toEqual([submissionOf[C]]);
    const event = await f.withDb((knex) => knex('compliance_actions').where({ outcome: 'submissions_purged' }).first());
    expect(event.detail).toMatchObject({
      submissions: 1,
      sessions: 0,
      older_than_days: 365,
      operator: expect.any(String),
    });
  });
});

describe('when a person asks to be erased', () => {
  it('then their data is gone, their token answers 427, and the audit rows stay valid', async () => {
    const auditBefore = await f.withDb((knex) => knex('audit_events').count('* as n').first());
    for (const phone of [B, C]) {
      const r = await f.cli('submissions', ['erase', '--phone', phone, '--operator', 'eve', '--reason', 'GDPR-17'], {
        SUBMISSION_KEYS: K2,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('subject salt deleted');
    }
    const exported = await f.cli(
      'submissions',
      ['export', '--phone', C, '--operator', 'eve', '--reason', 'GDPR-15', '--format', 'json'],
      { SUBMISSION_KEYS: K2 },
    );
    expect(exported.code).toBe(0);
    const data = JSON.parse(exported.stdout) as Record<string, unknown>;
    expect(data).toMatchObject({ tokens: [], sessions: [], submissions: [], audit_events: [] });
    const query = await f.cli('audit', ['query', '--phone', B, '--format', 'json']);
    expect(JSON.parse(query.stdout)).toEqual([]);

    const state = await f.withDb(async (knex) => ({
      submissions: await knex('submissions').count('* as n').first(),
      sessions: await knex('flow_sessions').whereIn('token_id', [tokens[B].id, tokens[C].id]).count('* as n').first(),
      tokens: await knex('flow_tokens').whereIn('id', [tokens[B].id, tokens[C].id]).select('status', 'subject_id'),
      audit: await knex('audit_events').count('* as n').first(),
    }));
    expect(Number(state.submissions?.n)).toBe(0);
    expect(Number(state.sessions?.n)).toBe(0);
    expect(state.tokens.map((t) => t.status).sort()).toEqual(['completed', 'revoked']);
    expect(state.tokens.every((t) => String(t.subject_id).startsWith('erased:'))).toBe(true);
    expect(Number(state.audit?.n)).toBeGreaterThan(Number(auditBefore?.n));
    expect((await f.cli('audit', ['verify'])).code).toBe(0);

    const running = await f.startService({ env: { SUBMISSION_KEYS: K2 } });
    const reply = await running.client.init(tokens[B].token);
    expect(reply.status).toBe(427);
    await f.stopService();
  });
});

describe('when a token is revoked through the CLI', () => {
  it('then the next request with it answers 427', async () => {
    const r = await f.cli('token', ['revoke', '--id', tokens[D].id], { SUBMISSION_KEYS: K2 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('revoked 1 token(s)');
    const running = await f.startService({ env: { SUBMISSION_KEYS: K2 } });
    const reply = await running.client.init(tokens[D].token);
    expect(reply.status).toBe(427);
    await f.stopService();
  });
});

describe('when compliance staff use the read-only role', () => {
  // PGlite enforces role privileges like PostgreSQL (SET ROLE works), so this runs on both.
  it('then it reads the audit tables and views but not ciphertext, tokens, sessions or salts', async () => {
    await f.withDb(async (knex) => {
      const asCompliance = (sql: string) =>
        knex.transaction(async (trx) => {
          await trx.raw('SET LOCAL ROLE flowgate_compliance');
          return trx.raw(sql);
        });
      for (const table of [
        'audit_events',
        'audit_chain_heads',
        'audit_daily_outcomes',
        'audit_subject_events',
        'compliance_actions',
        'submission_inventory',
      ]) {
        await expect(asCompliance(`SELECT * FROM ${table} LIMIT 1`)).resolves.toBeDefined();
      }
      for (const sql of [
        'SELECT ciphertext FROM submissions',
        'SELECT id FROM submissions',
        'SELECT * FROM flow_tokens',
        'SELECT * FROM flow_sessions',
        'SELECT salt FROM subjects',
        "INSERT INTO audit_events (chain, seq, occurred_at, kind, outcome, prev_hash, hash) VALUES (99, 1, now(), 'x', 'x', 'x', 'x')",
      ]) {
        await expect(asCompliance(sql)).rejects.toThrow(/permission denied/);
      }
    });
  });

  const withLogins = process.env.DATABASE_URL ? it : it.skip;
  if (!process.env.DATABASE_URL) {
    it('logs in as a compliance user on PostgreSQL only (PGlite has no logins: one process, one user)', () => {
      expect(f.kind).toBe('pglite');
    });
  }

  withLogins('then a login in that role can run audit verify and query, and --phone says why it cannot', async () => {
    const user = `fgt_auditor_${randomBytes(4).toString('hex')}`;
    await f.withDb((knex) => knex.raw(`CREATE ROLE ${user} LOGIN IN ROLE flowgate_compliance`));
    try {
      const url = new URL(process.env.DATABASE_URL as string);
      url.username = user;
      url.password = '';
      const asAuditor = { DATABASE_URL: url.toString() };
      const verify = await f.cli('audit', ['verify'], asAuditor);
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      const query = await f.cli('audit', ['query', '--kind', 'compliance', '--format', 'json'], asAuditor);
      expect(query.code).toBe(0);
      expect((JSON.parse(query.stdout) as unknown[]).length).toBeGreaterThan(0);
      const byPhone = await f.cli('audit', ['query', '--phone', A], asAuditor);
      expect(byPhone.code).toBe(1);
      expect(byPhone.stderr).toContain('--phone needs read access to the subjects table');
      const decrypt = await f.cli('submissions', ['reencrypt'], asAuditor);
      expect(decrypt.code).toBe(1);
    } finally {
      await f.withDb((knex) => knex.raw(`DROP ROLE ${user}`));
    }
  });
});

describe('when a compliance officer runs an action under their own database login', () => {
  const withLogin = process.env.DATABASE_URL ? it : it.skip;

  /** A login with the grants README gives officers (no CREATE), for the duration of `fn`. */
  async function asOfficer(fn: (env: Record<string, string>, user: string) => Promise<void>): Promise<void> {
    const user = `fgt_officer_${randomBytes(4).toString('hex')}`;
    const schema = f.env.DATABASE_SCHEMA as string;
    await f.withDb(async (knex) => {
      await knex.raw(`CREATE ROLE ${user} LOGIN`);
      await knex.raw(`GRANT USAGE ON SCHEMA ${schema} TO ${user}`);
      await knex.raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${user}`);
      await knex.raw(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${user}`);
    });
    try {
      const url = new URL(process.env.DATABASE_URL as string);
      url.username = user;
      url.password = '';
      await fn({ DATABASE_URL: url.toString(), SUBMISSION_KEYS: K2 }, user);
    } finally {
      await f.withDb(async (knex) => {
        await knex.raw(`DROP OWNED BY ${user}`);
        await knex.raw(`DROP ROLE ${user}`);
      });
    }
  }

  const purge = (env: Record<string, string>) =>
    f.cli(
      'submissions',
      ['purge', '--older-than-days', '36500', '--operator', 'somebody-else', '--reason', 'T-9'],
      env,
    );

  withLogin('then the audit event records that login beside the operator name they typed', async () => {
    await asOfficer(async (env, user) => {
      const r = await purge(env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const event = await f.withDb((knex) =>
        knex('compliance_actions').where({ outcome: 'submissions_purged' }).orderBy('occurred_at', 'desc').first(),
      );
      expect(event.detail).toMatchObject({
        operator: 'somebody-else',
        reason: 'T-9',
        database_user: user,
        os_user: recordableAccount(userInfo().username),
      });
    });
  });

  withLogin(
    'then, with a migration not yet applied, the command says to migrate first and changes nothing',
    async () => {
      const last = await f.withDb((knex) => knex('knex_migrations').orderBy('id', 'desc').first());
      await f.withDb((knex) => knex('knex_migrations').where({ id: last.id }).delete());
      try {
        await asOfficer(async (env) => {
          const before = await f.withDb((knex) => knex('audit_events').count('* as n').first());
          const r = await purge(env);
          expect(r.code).toBe(1);
          expect(r.stderr).toContain("may not open or migrate flowgate's schema (");
          expect(r.stderr).toContain('run `npm run migrate` with the service');
          expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
          const after = await f.withDb((knex) => knex('audit_events').count('* as n').first());
          expect(after).toEqual(before);
        });
      } finally {
        await f.withDb((knex) => knex('knex_migrations').insert(last));
      }
    },
  );
});
