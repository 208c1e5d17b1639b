import { randomBytes } from 'node:crypto';
import bookAppointment from '../../src/flows/book-appointment';
import appointmentDapi3 from '../fixtures/flows/appointment-dapi3';
import flowJson73, { sizes } from '../fixtures/flows/flow-json-73';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok, pickBookableDate, walkBookAppointment } from '../helpers/walk';
import { signFlowToken, type FlowReply, type WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Data API 4.0 beside 3.0 (issue 14), through real HTTP with the independent node-forge client,
 * which also signs `flow_token_signature` with node-forge's HMAC (not jose, which the service uses).
 * FLOW_TOKEN_SIGNATURE=required, as in production; an earlier app secret is still accepted.
 */
const previousSecret = randomBytes(32).toString('base64url');
const NOT_VALID = 'This form link is not valid. Please ask for a new one.';

let t: TestService;
let v4: WhatsAppClient;
let appSecret: string;

beforeAll(async () => {
  t = await startTestService({
    flows: [bookAppointment, appointmentDapi3, flowJson73],
    env: { FLOW_TOKEN_SIGNATURE: 'required', META_PREVIOUS_APP_SECRETS: previousSecret },
  });
  appSecret = t.env.META_APP_SECRET as string;
  v4 = t.client('book-appointment', { version: '4.0' });
});
afterAll(async () => {
  await t.stop();
});

interface AuditRow {
  outcome: string;
  http_status: number;
  action: string | null;
  detail: Record<string, unknown> | null;
}

async function auditOf(reply: FlowReply): Promise<AuditRow> {
  await t.service.audit.flush();
  const row = (await t.service.database.knex('audit_events').where({ request_id: reply.requestId }).first()) as
    AuditRow | undefined;
  if (!row) throw new Error(`no audit event for request ${String(reply.requestId)}`);
  return row;
}

describe('when WhatsApp checks the endpoint with a ping', () => {
  it.each(['3.0', '4.0'])('with version %s, then it is answered active and echoes the version', async (version) => {
    const reply = await t.client('book-appointment', { version }).ping();
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ version, data: { status: 'active' } });
    expect(await auditOf(reply)).toMatchObject({ outcome: 'ping', http_status: 200 });
  });

  it('with a version flowgate does not know, then it is still answered (a health check never fails on one)', async () => {
    const reply = await t.client('book-appointment').send({ version: '9.1', action: 'ping' });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ version: '9.1', data: { status: 'active' } });
  });
});

describe('when a Flow JSON 7.3 flow talks Data API 4.0 with a valid flow_token_signature', () => {
  it('then INIT, data_exchange and completion are served, each reply echoing "4.0"', async () => {
    const token = await t.issueToken('+14155550140');
    const replies = await walkBookAppointment(v4, token, {
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      phone: '',
      notes: '',
    });
    expect(replies.map((r) => ok(r).screen)).toEqual(['APPOINTMENT', 'APPOINTMENT', 'DETAILS', 'SUMMARY', 'SUCCESS']);
    for (const r of replies) expect(ok(r).version).toBe('4.0');
    const params = (dataOf(replies[4]).extension_message_response as { params: Record<string, unknown> }).params;
    expect(params.flow_token).toBe(token);
  });

  it('then BACK refreshes the previous screen', async () => {
    const token = await t.issueToken('+14155550141');
    ok(await v4.init(token));
    const { date, time } = await pickBookableDate(v4, token);
    ok(
      await v4.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'general',
        location: 'north',
        date,
        time,
      }),
    );
    const back = await v4.back(token, 'DETAILS');
    expect(ok(back)).toMatchObject({ version: '4.0', screen: 'APPOINTMENT' });
    expect(dataOf(back).is_time_enabled).toBe(true);
    expect(await auditOf(back)).toMatchObject({ outcome: 'next_screen', action: 'BACK', http_status: 200 });
  });

  it('then an error on screen and an error acknowledgement echo the version too', async () => {
    const token = await t.issueToken('+14155550142');
    ok(await v4.init(token));
    const { date, time } = await pickBookableDate(v4, token);
    ok(
      await v4.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'general',
        location: 'north',
        date,
        time,
      }),
    );
    const onScreen = await v4.exchange(token, 'DETAILS', {
      name: 'Bo',
      email: 'bo@mailinator.com',
      phone: '',
      notes: '',
    });
    expect(ok(onScreen)).toMatchObject({ version: '4.0', screen: 'DETAILS' });
    expect(typeof dataOf(onScreen).error_message).toBe('string');
    const ack = await v4.send(v4.request('data_exchange', token, 'DETAILS', { error: 'payload-schema-error' }));
    expect(ack.json).toEqual({ version: '4.0', data: { acknowledged: true } });
  });

  it('then a signature made with the previous app secret is accepted (rotation)', async () => {
    const token = await t.issueToken('+14155550143');
    const rotating = t.client('book-appointment', {
      version: '4.0',
      tokenSignature: (flowToken) => signFlowToken(flowToken, previousSecret),
    });
    expect(ok(await rotating.init(token))).toMatchObject({ version: '4.0', screen: 'APPOINTMENT' });
  });
});

describe('when the flow_token_signature is missing, forged or mismatched', () => {
  const cases: [string, (token: string, other: string) => string | undefined, string][] = [
    ['missing', () => undefined, 'signature_missing'],
    [
      'forged (random bytes)',
      () => `eyJhbGciOiJIUzI1NiJ9.${randomBytes(40).toString('base64url')}.AAAA`,
      'signature_invalid',
    ],
    [
      'signed with another secret',
      (token) => signFlowToken(token, randomBytes(32).toString('hex')),
      'signature_invalid',
    ],
    ['binding another flow token', (_token, other) => signFlowToken(other, appSecret), 'signature_mismatch'],
    ['with alg none', (token) => signFlowToken(token, appSecret, { alg: 'none' }), 'signature_malformed'],
    ['with alg RS256', (token) => signFlowToken(token, appSecret, { alg: 'RS256' }), 'signature_algorithm'],
    ['with alg HS512', (token) => signFlowToken(token, appSecret, { alg: 'HS512' }), 'signature_algorithm'],
    [
      'without a flow_token claim',
      (token) => signFlowToken(token, appSecret, { claims: { sub: token } }),
      'signature_mismatch',
    ],
    [
      'expired',
      (token) =>
        signFlowToken(token, appSecret, { claims: { flow_token: token, exp: Math.floor(Date.now() / 1000) - 3600 } }),
      'signature_expired',
    ],
    ['not a JWT', () => 'not-a-jwt', 'signature_malformed'],
  ];

  it.each(cases)('%s, then 427 closes the flow and the audit says why', async (_what, sign, reason) => {
    const token = await t.issueToken('+14155550150');
    const other = await t.issueToken('+14155550151');
    const client = t.client('book-appointment', { version: '4.0', tokenSignature: (tk) => sign(tk, other) });
    for (const reply of [await client.init(token), await client.exchange(token, 'APPOINTMENT', { trigger: 'x' })]) {
      expect(reply.status).toBe(427);
      expect(reply.json).toEqual({ error_msg: NOT_VALID });
      expect(await auditOf(reply)).toMatchObject({
        outcome: 'flow_token_invalid',
        http_status: 427,
        detail: { reason },
      });
    }
    // The token itself was never harmed: a genuine request goes through afterwards.
    expect(ok(await v4.init(token)).screen).toBe('APPOINTMENT');
  });

  it('then an error notification with a forged signature is refused too', async () => {
    const token = await t.issueToken('+14155550152');
    const forged = t.client('book-appointment', {
      version: '4.0',
      tokenSignature: (tk) => signFlowToken(tk, 'not-the-app-secret'),
    });
    const reply = await forged.send(forged.request('data_exchange', token, 'APPOINTMENT', { error: 'x' }));
    expect(reply.status).toBe(427);
    expect((await auditOf(reply)).detail).toMatchObject({ reason: 'signature_invalid' });
  });
});

describe('when a Data API 3.0 flow and 3.0 requests are served beside 4.0', () => {
  it('then the 3.0 flow walks without signatures and every reply echoes "3.0"', async () => {
    const token = await t.issueToken('+14155550160', 'appointment-dapi3');
    const replies = await walkBookAppointment(t.client('appointment-dapi3'), token, {
      name: 'Bo Li',
      email: 'bo@example.com',
      phone: '',
      notes: '',
    });
    expect(ok(replies[4]).screen).toBe('SUCCESS');
    for (const r of replies) expect(ok(r).version).toBe('3.0');
  });

  it('then a signature sent to a 3.0 flow is still verified (a forged one is never ignored)', async () => {
    const token = await t.issueToken('+14155550161', 'appointment-dapi3');
    const client = t.client('appointment-dapi3', { tokenSignature: (tk) => signFlowToken(tk, 'wrong-secret') });
    const reply = await client.init(token);
    expect(reply.status).toBe(427);
    expect((await auditOf(reply)).detail).toMatchObject({ reason: 'signature_invalid' });
  });

  it('then a 3.0 request without signature to the 7.3/4.0 flow is refused while the signature is required', async () => {
    const token = await t.issueToken('+14155550162');
    const reply = await t.client('book-appointment').init(token);
    expect(reply.status).toBe(427);
    expect((await auditOf(reply)).detail).toMatchObject({ reason: 'signature_missing' });
  });
});

describe('when a request carries a version or an action flowgate does not know', () => {
  it.each([
    ['5.0', 'unsupported data API version 5.0'],
    ['banana<script>', 'unsupported data API version (unrecognised)'],
  ])('with version %s, then 400, a log line and an audit reason, never a 500', async (version, reason) => {
    const token = await t.issueToken('+14155550170');
    const reply = await v4.send({ ...v4.request('INIT', token, '', {}), version });
    expect(reply.status).toBe(400);
    expect(reply.rawBody).toBe('');
    expect(await auditOf(reply)).toMatchObject({ outcome: 'malformed_request', http_status: 400, detail: { reason } });
    expect(t.logs.some((l) => l.includes('unsupported data API version') && !l.includes('<script>'))).toBe(true);
  });

  it.each([
    ['navigate', 'unknown action navigate'],
    ['refresh_everything', 'unknown action (unrecognised)'],
  ])('with action %s, then 400 with reason "%s", nothing routed, no client text kept', async (action, reason) => {
    const token = await t.issueToken('+14155550171');
    const reply = await v4.send(v4.request(action, token, 'APPOINTMENT', {}));
    expect(reply.status).toBe(400);
    expect(await auditOf(reply)).toMatchObject({ outcome: 'malformed_request', action: 'unknown', detail: { reason } });
    expect(t.logs.some((l) => l.includes('refresh_everything'))).toBe(false);
  });
});

describe("when a handler's answer would exceed WhatsApp's 1 MB data channel", () => {
  afterEach(() => {
    sizes.summaryBytes = 0;
  });

  it('then it is never sent: 500 with no detail, logged and audited, and nothing is stored', async () => {
    const client = t.client('flow-json-73', { version: '4.0' });
    const token = await t.issueToken('+14155550180', 'flow-json-73');
    expect(ok(await client.init(token))).toMatchObject({ version: '4.0', screen: 'CHOOSE' });
    sizes.summaryBytes = 760_000; // ~1,013,000 bytes once encrypted and base64-encoded
    const big = await client.exchange(token, 'CHOOSE', { plan: 'pro', extras: 'x' });
    expect(big.status).toBe(500);
    expect(big.rawBody).toBe('');
    const audit = await auditOf(big);
    expect(audit).toMatchObject({ outcome: 'response_too_large', http_status: 500 });
    expect(String(audit.detail?.reason)).toMatch(/exceeds the 1000000-byte data-channel limit/);
    expect(t.logs.some((l) => l.includes('response_too_large') && l.includes('"level":"error"'))).toBe(true);

    // The same request with a smaller answer is served: the refused one left nothing behind. (The
    // session store keeps a screen's data under 256 KB, so that is the size tried here.)
    sizes.summaryBytes = 200_000;
    const fits = await client.exchange(token, 'CHOOSE', { plan: 'pro', extras: 'x' });
    expect(fits.status).toBe(200);
    expect(ok(fits).screen).toBe('CONFIRM');
  });
});
