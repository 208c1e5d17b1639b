import { randomBytes } from 'node:crypto';
import { holdersToCsv } from '../../src/consents';
import { defineFlow } from '../../src/flow-api';
import bookAppointment from '../../src/flows/book-appointment';
import { DbFixture, type RunningService } from '../helpers/db-fixture';
import { dataOf, ok, pickBookableDate } from '../helpers/walk';

jest.setTimeout(180_000);

/**
 * Consent records through the real interfaces: the example flow's OptIn (declared a consent in
 * its index.ts) walked by the WhatsApp test client, withdrawal through the token API over HTTP
 * and through the CLI, the access export, erasure, the `consents` view and the "who" CSV.
 */

const PURPOSE = 'appointment-records';
const A = '+14155550301'; // grants v1, later re-consents under v2, then withdraws by CLI
const B = '+14155550302'; // grants v1, withdraws through the API
const C = '+14155550303'; // declines (a flow variant where the OptIn is optional)
const D = '+14155550304'; // grants v1, then is erased
const answers = { name: 'Ada Lovelace', email: 'ada@example.org', phone: '', notes: 'private note' };

type FlowJson = { screens: { id: string; layout: { children: Record<string, unknown>[] } }[] };

/** The example flow with an optional OptIn and the policy at `version` (a new text, asked again). */
function variant(version: string) {
  const json = structuredClone(bookAppointment.flowJson) as FlowJson;
  const optIn = json.screens.find((s) => s.id === 'SUMMARY')?.layout.children.find((c) => c.type === 'OptIn');
  if (!optIn) throw new Error('no OptIn on SUMMARY');
  optIn.required = false;
  return defineFlow({
    ...bookAppointment,
    flowJson: json,
    consents: [
      { field: 'consent', purpose: PURPOSE, policyUrl: 'https://clinic.example/privacy', policyVersion: version },
    ],
  });
}

async function walk(running: RunningService, phone: string, consent: boolean): Promise<string> {
  const { token, id } = await running.issueToken(phone);
  const client = running.client;
  ok(await client.init(token));
  const { date, time } = await pickBookableDate(client, token);
  dataOf(
    await client.exchange(token, 'APPOINTMENT', {
      trigger: 'appointment_chosen',
      department: 'cardiology',
      location: 'central',
      date,
      time,
    }),
  );
  expect(ok(await client.exchange(token, 'DETAILS', answers)).screen).toBe('SUMMARY');
  expect(ok(await client.exchange(token, 'SUMMARY', { consent })).screen).toBe('SUCCESS');
  return id;
}

let f: DbFixture;
const at: Record<string, Date> = {};

async function records(): Promise<Record<string, unknown>[]> {
  return f.withDb((knex) => knex('consent_records').orderBy('seq'));
}

async function subjectOfToken(tokenId: string): Promise<string> {
  return f.withDb(async (knex) =>
    String((await knex('flow_tokens').where({ id: tokenId }).first('subject_id')).subject_id),
  );
}

const subjects: Record<string, string> = {};

beforeAll(async () => {
  f = new DbFixture();
  const running = await f.startService();
  const tokenA = await walk(running, A, true);
  const tokenB = await walk(running, B, true);
  const tokenD = await walk(running, D, true);
  await f.stopService();
  at.afterFirstGrants = new Date();
  const optional = await f.startService({ flows: [variant('2026-01')] });
  const tokenC = await walk(optional, C, false);
  await f.stopService();
  for (const [phone, token] of [
    [A, tokenA],
    [B, tokenB],
    [C, tokenC],
    [D, tokenD],
  ] as const)
    subjects[phone] = await subjectOfToken(token);
});
afterAll(async () => {
  await f?.cleanup();
});

describe('when a flow declares its OptIn a consent and people complete it', () => {
  it('then each completion stored a consent record with its submission, in the same transaction, and an audit event', async () => {
    await f.withDb(async (knex) => {
      const rows = (await knex('consent_records').orderBy('seq')) as Record<string, unknown>[];
      expect(rows.map((r) => [r.subject_id, r.decision, r.policy_version, r.source])).toEqual([
        [subjects[A], 'granted', '2026-01', 'submission'],
        [subjects[B], 'granted', '2026-01', 'submission'],
        [subjects[D], 'granted', '2026-01', 'submission'],
        [subjects[C], 'declined', '2026-01', 'submission'],
      ]);
      for (const row of rows) {
        const submission = await knex('submissions').where({ id: row.submission_id }).first('subject_id', 'flow_id');
        expect(submission).toEqual({ subject_id: row.subject_id, flow_id: 'book-appointment' });
        expect(row.policy_url).toBe('https://clinic.example/privacy');
        expect(row.purpose).toBe(PURPOSE);
        // The completing request's own audit event names the consent: one event per request, same transaction.
        const event = await knex('audit_events')
          .where({ request_id: row.request_id, outcome: 'completed' })
          .first('screen', 'subject_ref', 'detail');
        expect(event.screen).toBe('SUMMARY');
        expect(event.subject_ref).toMatch(/^[0-9a-f]{32}$/);
        const detail = (typeof event.detail === 'string' ? JSON.parse(event.detail) : event.detail) as {
          consents: unknown[];
        };
        expect(detail.consents).toEqual([
          { consent_id: row.id, purpose: PURPOSE, policy_version: '2026-01', decision: row.decision },
        ]);
      }
    });
    const verify = await f.cli('audit', ['verify']);
    expect(verify.code).toBe(0);
  });

  it('then no consent record holds anything the person typed', async () => {
    const rows = (await f.dumpAllRows()).filter((r) => r.startsWith('consent_records'));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      for (const value of ['Ada Lovelace', 'ada@example.org', 'private note', '4155550301'])
        expect(row).not.toContain(value);
    }
  });

  it('then the records are append-only: no update of a decision, no delete', async () => {
    await f.withDb(async (knex) => {
      await expect(knex('consent_records').update({ decision: 'granted' })).rejects.toThrow(/append-only/);
      await expect(knex('consent_records').delete()).rejects.toThrow(/append-only/);
    });
  });
});

describe('when a consent is withdrawn through the token API', () => {
  let running: RunningService;
  let base: string;
  let key: string;
  beforeAll(async () => {
    running = await f.startService();
    base = new URL(running.client.url).origin;
    key = f.env.TOKEN_API_KEY as string;
  });
  afterAll(async () => {
    await f.stopService();
  });
  const post = (path: string, body: unknown, bearer = key) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('then the bearer key is required, and bad input is a 400 naming the problem', async () => {
    expect((await post('/api/consents/withdraw', { phone: B, purpose: PURPOSE }, 'wrong')).status).toBe(401);
    const unknownPurpose = await post('/api/consents/withdraw', { phone: B, purpose: 'marketing' });
    expect(unknownPurpose.status).toBe(400);
    expect(((await unknownPurpose.json()) as { error: string }).error).toContain('appointment-records');
    for (const body of [
      { phone: B, purpose: PURPOSE, extra: 1 },
      '{"phone":"+14155550302","purpose":"appointment-records","__proto__":{"x":1}}',
      { phone: 'not a phone', purpose: PURPOSE },
      { purpose: PURPOSE },
      '[1]',
      '{"phone":',
    ]) {
      const res = await post('/api/consents/withdraw', body);
      expect(res.status).toBe(400);
    }
    expect((await records()).filter((r) => r.decision === 'withdrawn')).toHaveLength(0);
  });

  it('then the withdrawal is recorded once with its audit event, and the status shows it', async () => {
    running = await f.startService();
    base = new URL(running.client.url).origin;
    const res = await post('/api/consents/withdraw', { phone: B, purpose: PURPOSE });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ withdrawn: true, purpose: PURPOSE, policy_version: '2026-01' });
    const again = await post('/api/consents/withdraw', { phone: B, purpose: PURPOSE });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ withdrawn: false, purpose: PURPOSE, status: 'withdrawn' });
    const declined = await post('/api/consents/withdraw', { phone: C, purpose: PURPOSE });
    expect(await declined.json()).toEqual({ withdrawn: false, purpose: PURPOSE, status: 'declined' });
    const status = await post('/api/consents/status', { phone: B });
    expect(((await status.json()) as { consents: unknown[] }).consents).toEqual([
      expect.objectContaining({ purpose: PURPOSE, decision: 'withdrawn', policy_version: '2026-01' }),
    ]);
    await f.stopService();
    const withdrawn = (await records()).filter((r) => r.decision === 'withdrawn');
    expect(withdrawn).toHaveLength(1);
    expect(withdrawn[0]).toMatchObject({
      subject_id: subjects[B],
      source: 'api',
      submission_id: null,
      id: body.consent_id,
    });
    const event = await f.withDb((knex) =>
      knex('compliance_actions').where({ outcome: 'consent_withdrawn' }).first('detail'),
    );
    expect(event.detail).toMatchObject({ via: 'api', purpose: PURPOSE, consent_id: body.consent_id });
  });
});

describe('when a person consents again under a new policy version and then withdraws through the CLI', () => {
  beforeAll(async () => {
    const v2 = await f.startService({ flows: [variant('2026-06')] });
    at.beforeV2 = new Date();
    await walk(v2, A, true);
    await f.stopService();
    at.afterV2 = new Date();
  });

  const who = async (args: string[]) => {
    const run = await f.cli('consents', ['who', '--purpose', PURPOSE, ...args]);
    expect(run.code).toBe(0);
    const [header, ...lines] = run.stdout.trim().split(/\r?\n/);
    expect(header).toBe('subject_id,purpose,policy_version,flow_id,granted_at,consent_id,submission_id');
    return lines.map((l) => l.split(','));
  };
  const subjectsIn = (rows: string[][]) => rows.map((r) => r[0]?.replace(/^'/, '')).sort();

  it('then "who" answers per policy version and date, as CSV', async () => {
    expect(
      subjectsIn(await who(['--policy-version', '2026-01', '--as-of', at.afterFirstGrants!.toISOString()])),
    ).toEqual([subjects[A], subjects[B], subjects[D]].sort());
    // Now: A moved to 2026-06, B withdrew, C declined; D still under 2026-01.
    expect(subjectsIn(await who(['--policy-version', '2026-01']))).toEqual([subjects[D]]);
    expect(subjectsIn(await who(['--policy-version', '2026-06']))).toEqual([subjects[A]]);
    expect(await who(['--as-of', '2020-01-01'])).toEqual([]);
  });

  it('then the CLI withdrawal needs operator and reason, records who and why, and ends the consent', async () => {
    const noReason = await f.cli('consents', ['withdraw', '--phone', A, '--purpose', PURPOSE, '--operator', 'kim']);
    expect(noReason.code).toBe(2);
    const typo = await f.cli('consents', [
      'withdraw',
      '--phone',
      A,
      '--purpose',
      'marketing',
      '--operator',
      'kim',
      '--reason',
      'T-1',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('no registered flow declares purpose "marketing"');
    const run = await f.cli('consents', [
      'withdraw',
      '--phone',
      A,
      '--purpose',
      PURPOSE,
      '--operator',
      'kim',
      '--reason',
      'T-42',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^withdrawn: consent to "appointment-records" \(policy version 2026-06\)/);
    const event = await f.withDb((knex) =>
      knex('compliance_actions').where({ outcome: 'consent_withdrawn' }).orderBy('occurred_at', 'desc').first('detail'),
    );
    expect(event.detail).toMatchObject({ via: 'cli', operator: 'kim', reason: 'T-42', policy_version: '2026-06' });
    expect(subjectsIn(await who([]))).toEqual([subjects[D]]);
    expect(subjectsIn(await who(['--as-of', at.afterV2!.toISOString()]))).toEqual([subjects[A], subjects[D]].sort());
  });

  it('then the access export lists every consent event of the person', async () => {
    const run = await f.cli('submissions', ['export', '--phone', A, '--operator', 'kim', '--reason', 'DSAR-7']);
    expect(run.code).toBe(0);
    const data = JSON.parse(run.stdout) as { consents: { decision: string; policy_version: string; source: string }[] };
    expect(data.consents.map((c) => [c.decision, c.policy_version, c.source])).toEqual([
      ['granted', '2026-01', 'submission'],
      ['granted', '2026-06', 'submission'],
      ['withdrawn', '2026-06', 'cli'],
    ]);
    expect(run.stderr).toContain('3 consent record(s)');
  });
});

describe('when a person who consented is erased', () => {
  it('then their consent is withdrawn by the erasure, the records stay as proof without the submission link', async () => {
    const beforeErasure = new Date();
    const run = await f.cli('submissions', ['erase', '--phone', D, '--operator', 'kim', '--reason', 'ERASE-9']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 consent(s) withdrawn, 2 consent record(s) kept as proof');
    const rows = (await records()).filter((r) => r.subject_id === subjects[D]);
    expect(rows.map((r) => [r.decision, r.source, r.submission_id])).toEqual([
      ['granted', 'submission', null],
      ['withdrawn', 'erasure', null],
    ]);
    const now = await f.cli('consents', ['who', '--purpose', PURPOSE]);
    expect(now.stdout).not.toContain(subjects[D]);
    const past = await f.cli('consents', ['who', '--purpose', PURPOSE, '--as-of', beforeErasure.toISOString()]);
    expect(past.stdout).toContain(subjects[D]);
  });
});

describe('when compliance staff read consents', () => {
  it('then the read-only role reads the consents view, not the table behind it', async () => {
    await f.withDb(async (knex) => {
      const asCompliance = (sql: string) =>
        knex.transaction(async (trx) => {
          await trx.raw('SET LOCAL ROLE flowgate_compliance');
          return (await trx.raw(sql)) as { rows: unknown[] };
        });
      expect((await asCompliance('SELECT * FROM consents')).rows.length).toBeGreaterThan(4);
      await expect(asCompliance('SELECT * FROM consent_records')).rejects.toThrow(/permission denied/);
      await expect(asCompliance("UPDATE consents SET decision = 'granted'")).rejects.toThrow(/permission denied/);
    });
  });

  (process.env.DATABASE_URL ? it : it.skip)(
    'then a login in that role runs "who" with the database settings alone',
    async () => {
      const user = `fgt_consents_${randomBytes(4).toString('hex')}`;
      await f.withDb((knex) => knex.raw(`CREATE ROLE ${user} LOGIN IN ROLE flowgate_compliance`));
      try {
        const url = new URL(process.env.DATABASE_URL as string);
        url.username = user;
        url.password = '';
        const run = await f.cli('consents', ['who', '--purpose', PURPOSE, '--as-of', '2099-01-01'], {
          DATABASE_URL: url.toString(),
          FLOW_TOKEN_SECRET: undefined,
          SUBJECT_HASH_KEY: undefined,
          SUBMISSION_KEYS: undefined,
        });
        expect(run.stderr).toMatch(/subject\(s\) had consented/);
        expect(run.code).toBe(0);
      } finally {
        await f.withDb((knex) => knex.raw(`DROP ROLE ${user}`));
      }
    },
  );

  it('then CSV cells that a spreadsheet would run are neutralised', () => {
    const csv = holdersToCsv([
      {
        subject_id: '-2+3',
        purpose: PURPOSE,
        policy_version: '=HYPERLINK("x")',
        flow_id: 'f',
        granted_at: '2026-01-01T00:00:00.000Z',
        consent_id: 'c',
        submission_id: null,
      },
    ]);
    expect(csv.split('\r\n')[1]).toBe(`'-2+3,${PURPOSE},"'=HYPERLINK(""x"")",f,2026-01-01T00:00:00.000Z,c,`);
  });
});
