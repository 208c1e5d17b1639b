import { createHash, randomBytes, randomInt } from 'node:crypto';
import { eraseSubject } from '../../src/compliance';
import { tokenHash } from '../../src/tokens';
import bookAppointment from '../../src/flows/book-appointment';
import misbehaving, { controls, resetMisbehaving } from '../fixtures/flows/misbehaving';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok, pickBookableDate } from '../helpers/walk';
import type { WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * What a holder of one genuine flow token can do with well-formed requests (issue 13), through real
 * HTTP on the configured database: skip screens (refused, nothing stored), report errors with free
 * text (kept as key, length and keyed hash, throttled, refused once the token is revoked or erased),
 * pick options that were never offered (an error on the screen), and make a handler fail where no
 * screen can carry it (500, counted and limited per address).
 */

let t: TestService;
let client: WhatsAppClient;
beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment, misbehaving] });
  client = t.client('book-appointment');
});
afterAll(async () => {
  await t.stop();
});

function phone(): string {
  return `+1415${String(randomInt(1_000_000, 9_999_999))}`;
}

interface AuditRow {
  outcome: string;
  http_status: number;
  action: string | null;
  screen: string | null;
  detail: Record<string, unknown> | null;
}

async function auditOf(token: string): Promise<AuditRow[]> {
  await t.service.audit.flush();
  const verified = await t.service.codec.verify(token, 'book-appointment');
  const rows = (await t.service.database
    .knex('audit_events')
    .where({ token_hash: tokenHash(verified.id) })
    .orderBy([{ column: 'occurred_at' }, { column: 'seq' }])
    .select('outcome', 'http_status', 'action', 'screen', 'detail')) as AuditRow[];
  return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
}

async function tokenRow(token: string): Promise<{ status: string; submissions: number }> {
  const verified = await t.service.codec.verify(token, 'book-appointment');
  const row = (await t.service.database.knex('flow_tokens').where({ id: verified.id }).first('status')) as {
    status: string;
  };
  const count = (await t.service.database.knex('submissions').where({ token_id: verified.id }).count('* as n')) as {
    n: unknown;
  }[];
  return { status: row.status, submissions: Number(count[0]?.n) };
}

/** INIT, a date, a valid APPOINTMENT choice: the session is on DETAILS. */
async function toDetails(token: string): Promise<void> {
  ok(await client.init(token));
  const { date, time } = await pickBookableDate(client, token);
  const chosen = { trigger: 'appointment_chosen', department: 'cardiology', location: 'central', date, time };
  expect(ok(await client.exchange(token, 'APPOINTMENT', chosen)).screen).toBe('DETAILS');
}

const DETAILS = { name: 'Ada Lovelace', email: 'ada@example.com', phone: '', notes: '' };

describe('when a client sends a screen the session cannot be on', () => {
  it('then SUMMARY straight after the APPOINTMENT choice is refused 400, audited, and changes nothing', async () => {
    const token = await t.issueToken(phone());
    await toDetails(token);
    const skipped = await client.exchange(token, 'SUMMARY', { consent: true });
    expect(skipped.status).toBe(400);
    expect(skipped.rawBody).toBe('');
    expect(await tokenRow(token)).toEqual({ status: 'active', submissions: 0 });
    const refusal = (await auditOf(token)).at(-1);
    expect(refusal).toMatchObject({ outcome: 'out_of_sequence', http_status: 400, screen: 'SUMMARY' });
    expect(String(refusal?.detail?.reason)).toMatch(/SUMMARY, which this session cannot be on \(last sent: DETAILS\)/);
    // The session is where it was: DETAILS goes on to SUMMARY, which then completes.
    expect(ok(await client.exchange(token, 'DETAILS', DETAILS)).screen).toBe('SUMMARY');
    expect(ok(await client.exchange(token, 'SUMMARY', { consent: true })).screen).toBe('SUCCESS');
    expect(await tokenRow(token)).toEqual({ status: 'completed', submissions: 1 });
  });

  it('then INIT followed by a SUMMARY submission is a 400, not a 500', async () => {
    const token = await t.issueToken(phone());
    ok(await client.init(token));
    expect((await client.exchange(token, 'SUMMARY', { consent: true })).status).toBe(400);
    expect((await client.exchange(token, 'DETAILS', DETAILS)).status).toBe(400);
    expect((await client.back(token, 'DETAILS')).status).toBe(400);
    expect(await tokenRow(token)).toEqual({ status: 'active', submissions: 0 });
  });

  it('then without any INIT only the entry screen is served', async () => {
    const token = await t.issueToken(phone());
    expect((await client.exchange(token, 'DETAILS', DETAILS)).status).toBe(400);
    expect((await client.exchange(token, 'SUMMARY', { consent: true })).status).toBe(400);
    const { date } = await pickBookableDate(client, token);
    expect(date).toMatch(/^\d{4}-/);
  });

  it('then going back to an earlier screen (device back button) and on again is served', async () => {
    const token = await t.issueToken(phone());
    await toDetails(token);
    expect(ok(await client.exchange(token, 'DETAILS', DETAILS)).screen).toBe('SUMMARY');
    // Back on DETAILS (no refresh_on_back on SUMMARY: the device goes back without asking).
    expect(ok(await client.exchange(token, 'DETAILS', { ...DETAILS, name: 'Ada King' })).screen).toBe('SUMMARY');
    // BACK from DETAILS (refresh_on_back) while SUMMARY was last sent: DETAILS is an earlier screen.
    expect(ok(await client.back(token, 'DETAILS')).screen).toBe('APPOINTMENT');
    // Now on APPOINTMENT: SUMMARY and DETAILS are ahead again.
    expect((await client.exchange(token, 'SUMMARY', { consent: true })).status).toBe(400);
    expect((await client.exchange(token, 'DETAILS', DETAILS)).status).toBe(400);
    expect(await tokenRow(token)).toEqual({ status: 'active', submissions: 0 });
  });
});

describe('when a client chooses an option the screen never offered', () => {
  it('then an unknown department is an error on APPOINTMENT that does not echo the value', async () => {
    const token = await t.issueToken(phone());
    ok(await client.init(token));
    const { date, time } = await pickBookableDate(client, token);
    const odd = `dept\u202e${randomBytes(6).toString('hex')}`;
    for (const choice of [
      { department: odd, location: 'central' },
      { department: 'cardiology', location: odd },
    ]) {
      const reply = ok(
        await client.exchange(token, 'APPOINTMENT', { trigger: 'appointment_chosen', ...choice, date, time }),
      );
      expect(reply.screen).toBe('APPOINTMENT');
      expect((reply.data as Record<string, unknown>).error_message).toBe('Please choose from the lists shown.');
      expect(JSON.stringify(reply)).not.toContain(odd.slice(5));
    }
    const valid = { trigger: 'appointment_chosen', department: 'general', location: 'north', date, time };
    expect(dataOf(await client.exchange(token, 'APPOINTMENT', valid)).slot_summary).toMatch(/^General practice, North/);
  });
});

describe('when a client sends error notifications', () => {
  const secretText = (): string =>
    `Call +4420${String(randomInt(10_000_000, 99_999_999))} Ada\u202e\u2066 ${randomBytes(6).toString('hex')}`;
  const notify = (token: string, data: Record<string, unknown>, action = 'data_exchange') =>
    client.send({ version: '3.0', action, flow_token: token, screen: 'APPOINTMENT', data });

  it('then only a documented key, the length and a keyed hash are kept — never the text', async () => {
    const token = await t.issueToken(phone());
    ok(await client.init(token));
    const message = secretText();
    const oddKey = `key-${randomBytes(6).toString('hex')}\u202e`;
    const oddAction = `act\n${randomBytes(6).toString('hex')}`;
    expect(ok(await notify(token, { error_key: 'payload-schema-error', error_message: message })).data).toEqual({
      acknowledged: true,
    });
    expect(ok(await notify(token, { error: oddKey, error_message: message }, oddAction)).data).toEqual({
      acknowledged: true,
    });
    const rows = (await auditOf(token)).filter((r) => r.outcome === 'error_notification');
    expect(rows).toHaveLength(2);
    const [known, other] = rows;
    expect(known?.detail).toEqual({
      error_key: 'payload-schema-error',
      error_message_length: [...message].length,
      error_message_hash: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(other?.detail?.error_key).toBe('(other)');
    expect(other?.action).toBe('unknown');
    // The same text hashes the same (repeats can be counted), under a key no one outside holds.
    expect(other?.detail?.error_message_hash).toBe(known?.detail?.error_message_hash);
    expect(known?.detail?.error_message_hash).not.toBe(createHash('sha256').update(message).digest('hex').slice(0, 32));
    await t.service.audit.flush();
    const everything = `${t.logs.join('\n')}\n${JSON.stringify(await t.service.database.knex('audit_events').select('*'))}`;
    for (const leaked of [message, message.slice(-12), message.slice(5, 17), oddKey.slice(0, 16), oddAction.slice(4)]) {
      expect(everything.includes(leaked) ? leaked : '').toBe('');
    }
    expect(everything).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(await t.service.metrics.render()).toMatch(
      /flowgate_error_notifications_total\{flow="book-appointment",error_key="payload-schema-error",status="200"\} [1-9]/,
    );
  });

  it('then a token past its limit is still acknowledged, with one rate_limited event and no more rows', async () => {
    // All 14 within one clock minute (the per-minute count starts again in the next).
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
    const token = await t.issueToken(phone());
    const before = t.logs.length;
    for (let i = 0; i < 14; i++) {
      const reply = await notify(token, { error: 'timeout_error', error_message: `attempt ${i}` });
      expect(ok(reply).data).toEqual({ acknowledged: true });
    }
    const rows = await auditOf(token);
    expect(rows.filter((r) => r.outcome === 'error_notification')).toHaveLength(10);
    expect(rows.filter((r) => r.outcome === 'rate_limited')).toHaveLength(1);
    expect(rows).toHaveLength(11);
    const logged = t.logs.slice(before).filter((l) => l.includes('client reported an error'));
    expect(logged).toHaveLength(11);
  });

  it('then a completed token is acknowledged, a revoked or erased one is refused with 427', async () => {
    const done = await t.issueToken(phone());
    await toDetails(done);
    ok(await client.exchange(done, 'DETAILS', DETAILS));
    expect(ok(await client.exchange(done, 'SUMMARY', { consent: true })).screen).toBe('SUCCESS');
    expect(ok(await notify(done, { error: 'payload-schema-error' })).data).toEqual({ acknowledged: true });

    const revoked = await t.issueToken(phone());
    ok(await client.init(revoked));
    expect(await t.service.tokens.revoke({ tokenOrId: revoked }, { via: 'api' })).toBe(1);
    const refused = await notify(revoked, { error: 'timeout_error', error_message: secretText() });
    expect(refused.status).toBe(427);
    expect(refused.json).toEqual({ error_msg: 'This form is no longer available.' });

    const erasedPhone = phone();
    const erasedDone = await t.issueToken(erasedPhone);
    await toDetails(erasedDone);
    ok(await client.exchange(erasedDone, 'DETAILS', DETAILS));
    ok(await client.exchange(erasedDone, 'SUMMARY', { consent: true }));
    await eraseSubject(
      {
        knex: t.service.database.knex,
        cipher: t.service.cipher,
        audit: t.service.audit,
        subjectHashKey: t.env.SUBJECT_HASH_KEY as string,
      },
      erasedPhone,
      { operator: 'test', reason: 'erasure test', osUser: 'test' },
    );
    expect((await notify(erasedDone, { error: 'timeout_error' })).status).toBe(427);
    expect(await t.service.metrics.render()).toMatch(
      /flowgate_error_notifications_total\{flow="book-appointment",error_key="timeout_error",status="427"\} [2-9]/,
    );
  });
});

describe('when a handler fails where no screen can carry the error', () => {
  let limited: TestService;
  beforeAll(async () => {
    limited = await startTestService({ flows: [misbehaving], env: { RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    resetMisbehaving();
    await limited.stop();
  });

  it('then it is a 500, counted in metrics, and an address that keeps causing it gets 429', async () => {
    const failing = limited.client('misbehaving');
    controls.init = 'throw';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await failing.init(await limited.issueToken(phone(), 'misbehaving'))).status);
    expect(statuses).toEqual([500, 500, 500, 429]);
    expect(await limited.service.metrics.render()).toMatch(
      /flowgate_handler_failures_total\{flow="misbehaving",screen="",outcome="handler_failed",status="500"\} 3/,
    );
  });
});
