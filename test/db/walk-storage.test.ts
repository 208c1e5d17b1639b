import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { verifyAuditLog } from '../../src/audit';
import { recordableAccount } from '../../src/compliance';
import { DbFixture } from '../helpers/db-fixture';
import { walkBookAppointment } from '../helpers/walk';

jest.setTimeout(180_000);

const PHONE = '+14155550177';
const CANARY = {
  name: 'Canary Zq7x Name',
  email: 'canary.zq7x@example.org',
  phone: '+44 20 7946 0777',
  notes: 'CANARY-ZQ7X-NOTES sensitive',
};
/** Every personal value of the walk, including the phone number the token was issued for. */
const SECRETS = [CANARY.name, CANARY.email, CANARY.phone, CANARY.notes, PHONE, PHONE.slice(1)];

let f: DbFixture;
let requests = 0;
let tokenId = '';

beforeAll(async () => {
  f = new DbFixture();
  const running = await f.startService();
  const issued = await running.issueToken(PHONE);
  tokenId = issued.id;
  await walkBookAppointment(running.client, issued.token, CANARY);
  requests = running.requests();
  await f.stopService();
});
afterAll(async () => {
  await f.cleanup();
});

describe('when the example flow was walked to completion', () => {
  it('then the audit log holds one request event per request, on valid chains', async () => {
    const { events, report } = await f.withDb(async (knex) => ({
      events: (await knex('audit_events').where({ kind: 'request' }).select('outcome', 'http_status')) as {
        outcome: string;
        http_status: number;
      }[],
      report: await verifyAuditLog(knex),
    }));
    expect(requests).toBeGreaterThanOrEqual(5);
    expect(events).toHaveLength(requests);
    expect(events.every((e) => Number(e.http_status) === 200)).toBe(true);
    expect(events.filter((e) => e.outcome === 'completed')).toHaveLength(1);
    expect(report.ok).toBe(true);
  });

  it('then exactly one submission is stored, encrypted under the current key', async () => {
    const rows = await f.withDb((knex) => knex('submissions').select('key_id', 'field_names', 'token_id'));
    expect(rows).toHaveLength(1);
    expect(rows[0].key_id).toBe('k1');
    expect(rows[0].token_id).toBe(tokenId);
  });

  it('then no personal value appears in any table, column, data file or log line', async () => {
    const dump = (await f.dumpAllRows()).join('\n');
    expect(dump).toContain('audit_events');
    for (const secret of SECRETS) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(Buffer.from(secret).toString('hex'));
      expect(f.logs.join('\n')).not.toContain(secret);
      expect(f.dataFilesContain(secret)).toBe(false);
    }
    expect(f.logs.length).toBeGreaterThan(0);
    // The file scan does see stored text (a positive control), where there is a data folder.
    expect(f.dataFilesContain('book-appointment')).toBe(f.kind === 'pglite');
  });

  it('then `audit verify` reports every chain intact and exits 0', async () => {
    const r = await f.cli('audit', ['verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit log intact: \d+ chain\(s\), \d+ event\(s\)/);
  });

  it('then `audit query --phone` finds the walk through the pseudonym, in every format', async () => {
    const json = await f.cli('audit', ['query', '--phone', PHONE, '--format', 'json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { kind: string; subject_ref: string; flow_id: string }[];
    expect(rows).toHaveLength(requests);
    expect(new Set(rows.map((r) => r.subject_ref)).size).toBe(1);
    const other = await f.cli('audit', ['query', '--phone', '+14155550999', '--format', 'csv']);
    expect(other.code).toBe(0);
    expect(other.stdout.trim().split(/\r?\n/)).toHaveLength(1); // the header only
    const table = await f.cli('audit', ['query', '--flow', 'book-appointment', '--outcome', 'completed']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('(1 row)');
    for (const secret of SECRETS) expect(json.stdout + table.stdout).not.toContain(secret);
  });

  it('then `submissions decrypt` prints the answers and records who read them and why', async () => {
    const id = await f.withDb(async (knex) => (await knex('submissions').first('id')).id as string);
    const r = await f.cli('submissions', ['decrypt', id, '--operator', 'alice', '--reason', 'ticket T-42']);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as { id: string; data: Record<string, Record<string, unknown>> };
    expect(printed.id).toBe(id);
    expect(printed.data.DETAILS).toMatchObject({ name: CANARY.name, email: CANARY.email, notes: CANARY.notes });
    const events = await f.withDb((knex) => knex('compliance_actions').where({ outcome: 'submission_read' }));
    expect(events).toHaveLength(1);
    // The typed operator, and beside it the accounts the command ran under (OS, database login).
    const login = await f.withDb(
      async (knex) =>
        ((await knex.raw('SELECT session_user AS login')) as { rows: { login: string }[] }).rows[0]?.login,
    );
    expect(events[0].detail).toMatchObject({
      operator: 'alice',
      reason: 'ticket T-42',
      submission_id: id,
      os_user: recordableAccount(userInfo().username),
      database_user: login,
    });
    expect(JSON.stringify(events[0])).not.toContain(CANARY.name);
  });

  it('then `submissions export` writes everything held for the phone to a private file', async () => {
    const out = join(f.keys.dir, 'export.json');
    const r = await f.cli('submissions', [
      'export',
      '--phone',
      PHONE,
      '--operator',
      'bob',
      '--reason',
      'DSAR 7',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const data = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown[]>;
    expect(data.tokens).toHaveLength(1);
    expect(data.submissions).toHaveLength(1);
    expect(data.sessions).toHaveLength(1);
    expect(data.audit_events).toHaveLength(requests);
    expect(JSON.stringify(data.submissions)).toContain(CANARY.notes);
    const again = await f.cli('submissions', [
      'export',
      '--phone',
      PHONE,
      '--operator',
      'bob',
      '--reason',
      'DSAR 7',
      '--out',
      out,
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    for (const secret of SECRETS) expect(r.stderr + again.stderr).not.toContain(secret);
  });

  it('then the compliance actions themselves keep the chain valid and hold no personal data', async () => {
    const r = await f.cli('audit', ['verify']);
    expect(r.code).toBe(0);
    const dump = (await f.dumpAllRows()).filter((row) => row.startsWith('audit_events')).join('\n');
    for (const secret of SECRETS) expect(dump).not.toContain(secret);
  });
});
