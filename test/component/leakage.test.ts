import express from 'express';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import bookAppointment from '../../src/flows/book-appointment';
import misbehaving, { resetMisbehaving, controls } from '../fixtures/flows/misbehaving';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok, pickBookableDate, walkBookAppointment } from '../helpers/walk';
import { sealRequest, type FlowReply } from '../helpers/whatsapp-client';

/**
 * Secrets and user data never leak (src/ARCHITECTURE.md, rule 8): unique canary strings are seeded into a
 * full walk of the example flow and into failing requests; afterwards no canary, no secret (app
 * secret, token secret, subject key, submission key, token API key, key passphrase, private key
 * PEM) and no flow token appears in any log line the service wrote, in any stored audit event, or
 * in any HTTP error body; 500 bodies carry no stack.
 */

const PASSPHRASE = `pp-${randomBytes(12).toString('hex')}`;
const canaries: string[] = [];
/** A unique string that cannot occur by chance in a log line. */
function canary(label = 'cnry'): string {
  const value = `${label}${randomBytes(10).toString('hex')}`;
  canaries.push(value);
  return value;
}
/** 10 characters: short enough to be quoted whole in V8's JSON.parse error messages. */
function shortCanary(): string {
  const value = `q${randomBytes(5).toString('hex').slice(0, 9)}`;
  canaries.push(value);
  return value;
}
/** Digits only (for phone fields), long enough not to occur by chance. */
function digitCanary(n = 11): string {
  let digits = '';
  while (digits.length < n) digits += String(randomInt(0, 10));
  canaries.push(digits);
  return digits;
}

let t: TestService;
let secrets: Record<string, string>;
const tokens: string[] = [];
const errorBodies: FlowReply[] = [];

beforeAll(async () => {
  const failing = express.Router();
  failing.get('/boom', () => {
    throw new Error('an unexpected failure');
  });
  t = await startTestService({
    flows: [bookAppointment, misbehaving],
    passphrase: PASSPHRASE,
    env: { HANDLER_TIMEOUT_MS: '300', BODY_LIMIT_BYTES: '4096' },
    extraRouters: [failing],
  });
  const pem = readFileSync(t.keys.privateKeyFile, 'utf8');
  expect(pem).toContain('ENCRYPTED');
  const submissionKey = String(t.env.SUBMISSION_KEYS).split(':')[1];
  secrets = {
    META_APP_SECRET: t.env.META_APP_SECRET as string,
    FLOW_TOKEN_SECRET: t.env.FLOW_TOKEN_SECRET as string,
    SUBJECT_HASH_KEY: t.env.SUBJECT_HASH_KEY as string,
    SUBMISSION_KEYS: submissionKey,
    SUBMISSION_KEY_HEX: Buffer.from(submissionKey, 'base64').toString('hex'),
    TOKEN_API_KEY: t.env.TOKEN_API_KEY as string,
    FLOWS_PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
  };
  // Every line of the PEM body (64 base64 characters each) counts as a secret.
  pem
    .split('\n')
    .filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line))
    .forEach((line, i) => (secrets[`PEM line ${i}`] = line));
});
afterAll(async () => {
  await t.stop();
});

async function issue(flowId: string): Promise<string> {
  const phone = `+1${digitCanary(10)}`;
  const token = await t.issueToken(phone, flowId);
  tokens.push(token);
  return token;
}

function keep(reply: FlowReply): FlowReply {
  if (reply.status !== 200) errorBodies.push(reply);
  return reply;
}

describe('when requests carry canaries', () => {
  it('then a full walk of the example flow completes with canaries in every free-text field', async () => {
    const token = await issue('book-appointment');
    const replies = await walkBookAppointment(t.client('book-appointment'), token, {
      name: `Ada ${canary()}`,
      email: `${canary()}@example.com`,
      phone: `+44 ${digitCanary(12)}`,
      notes: `sensitive ${canary()}`,
    });
    expect(replies).toHaveLength(5);
  });

  it('then the example flow re-shows screens on server-side validation errors without echoing values', async () => {
    const token = await issue('book-appointment');
    const client = t.client('book-appointment');
    ok(await client.init(token));
    const { date, time } = await pickBookableDate(client, token);
    // An allowlisted audit field (department) whose options come from screen data gets a value
    // that was never offered: it passes the derived schema but must not reach the audit log, and
    // the example refuses it with an error on the screen (it never reaches DETAILS).
    const unoffered = { trigger: 'appointment_chosen', department: canary(), location: 'central', date, time };
    const refused = ok(await client.exchange(token, 'APPOINTMENT', unoffered));
    expect(refused.screen).toBe('APPOINTMENT');
    expect(JSON.stringify(refused)).not.toContain(unoffered.department);
    const chosen = { ...unoffered, department: 'cardiology' };
    expect(ok(await client.exchange(token, 'APPOINTMENT', chosen)).screen).toBe('DETAILS');
    const reply = await client.exchange(token, 'DETAILS', {
      name: canary(),
      email: `${canary()}@mailinator.com`,
      phone: `+${canary()}`,
      notes: canary(),
    });
    expect(ok(reply).screen).toBe('DETAILS');
    expect((ok(reply).data as Record<string, unknown>).field_errors).toEqual({
      email: 'Use a permanent address',
      phone: 'Enter a valid phone number',
    });
  });

  it('then failing handlers, invalid data and protocol refusals with canaries are all answered', async () => {
    const token = await issue('misbehaving');
    const client = t.client('misbehaving');
    ok(await client.init(token));
    for (const behaviour of ['throw', 'throw_parse', 'throw_value', 'undeclared_data', 'sleep', 'show_error']) {
      resetMisbehaving();
      controls.sleepMs = 600;
      keep(await client.exchange(token, 'START', { name: canary(), behaviour }));
    }
    // JSON.parse's SyntaxError quotes inputs of up to 10 characters whole: a short value must not
    // reach the log through the error message either.
    keep(await client.exchange(token, 'START', { name: shortCanary(), behaviour: 'throw_parse' }));
    // Invalid data: a too-long value, an unknown key named by a canary, a wrong option.
    keep(await client.exchange(token, 'START', { name: canary().repeat(5), behaviour: 'ok' }));
    keep(await client.exchange(token, 'START', { name: 'Ada', behaviour: 'ok', [canary()]: canary() }));
    keep(await client.exchange(token, 'START', { name: 'Ada', behaviour: canary() }));
    // Error notification: everything but WhatsApp's own error text stays out of the logs.
    keep(
      await client.send({
        version: '3.0',
        action: 'data_exchange',
        flow_token: token,
        screen: 'START',
        data: { error: 'payload-schema-error', name: canary(), [canary()]: 1 },
      }),
    );
    // Protocol refusals.
    keep(await client.exchange(token, canary(), { name: canary() }));
    keep(await client.send({ version: '3.0', action: canary(), flow_token: token, data: { x: canary() } }));
    keep(await client.send({ version: canary(), action: 'INIT', flow_token: token }));
    keep(await client.init(`${canary()}.${canary()}.${canary()}`));
    keep(await client.init(canary()));
    keep(await client.send(`{"not json ${canary()}`));
    keep(await client.post(`{"encrypted_flow_data":"${canary()}"`, undefined));
    keep(
      await client.post(
        JSON.stringify({ encrypted_flow_data: canary(), encrypted_aes_key: canary(), initial_vector: canary() }),
        undefined,
      ),
    );
    keep(await client.post(`{"x":"${canary()}"}`, undefined, { signature: `sha256=${canary()}` }));
    keep(await client.post(`{"x":"${canary()}"}`, undefined, { headers: { 'content-type': `text/${canary()}` } }));
    keep(await client.post(`{"pad":"${canary().repeat(300)}"}`, undefined));
    const sealed = sealRequest(t.keys.publicKeyPem, { version: '3.0', action: 'ping' });
    keep(await t.client(canary()).post(JSON.stringify(sealed.envelope), sealed));
    // INIT failures are 500s.
    for (const init of ['throw', 'bad_route'] as const) {
      resetMisbehaving();
      controls.init = init;
      keep(await client.init(await issue('misbehaving')));
    }
    resetMisbehaving();
    expect(errorBodies.length).toBeGreaterThan(10);
  });

  it('then 500 bodies carry no stack, no path and no message', async () => {
    const initFailure = errorBodies.find((r) => r.status === 500);
    expect(initFailure?.rawBody).toBe('');
    const res = await fetch(`${t.baseUrl}/boom`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ error: 'internal error', request_id: expect.any(String) });
    expect(body).not.toMatch(/ at |\.ts|\.js|unexpected failure|Error/);
  });
});

describe('when the logs, the audit log and the error bodies are searched', () => {
  let logText: string;
  let auditText: string;
  beforeAll(async () => {
    await t.service.audit.flush();
    logText = t.logs.join('\n');
    const rows = (await t.service.database.knex('audit_events').select('*')) as unknown[];
    auditText = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThan(20);
    expect(t.logs.length).toBeGreaterThan(20);
  });

  it('then no canary appears in any log line', () => {
    expect(canaries.length).toBeGreaterThan(30);
    for (const c of canaries) {
      const line = t.logs.find((l) => l.includes(c));
      expect(line).toBeUndefined();
    }
  });

  it('then no canary appears in any audit event', () => {
    for (const c of canaries) expect(auditText.includes(c) ? c : undefined).toBeUndefined();
  });

  it('then allowlisted values that were offered and valid are still kept (auditValues works)', () => {
    expect(auditText).toMatch(/"department\\*":\\*"cardiology/);
    expect(auditText).toMatch(/"notes\\*":\\*"\[sensitive\]/);
  });

  it('then no secret and no flow token appears in any log line or audit event', () => {
    const found = Object.entries({ ...secrets, ...Object.fromEntries(tokens.map((tk, i) => [`token ${i}`, tk])) })
      .filter(([, value]) => logText.includes(value) || auditText.includes(value))
      .map(([name]) => name);
    expect(found).toEqual([]);
  });

  it('then error bodies are empty, or only an encrypted error_msg for 427', () => {
    expect(errorBodies.map((r) => r.status)).toEqual(expect.arrayContaining([400, 404, 413, 415, 421, 427, 432, 500]));
    for (const reply of errorBodies) {
      if (reply.status === 427) {
        expect(reply.json === undefined || Object.keys(reply.json).join() === 'error_msg').toBe(true);
        continue;
      }
      expect(reply.rawBody).toBe('');
    }
    const bodies = errorBodies.map((r) => `${r.rawBody}${JSON.stringify(r.json ?? '')}`).join('\n');
    for (const value of [...canaries, ...Object.values(secrets)]) expect(bodies.includes(value) ? value : '').toBe('');
  });
});
