import bookAppointment from '../../src/flows/book-appointment';
import { exportSubjectData, eraseSubject } from '../../src/compliance';
import { forgetOldDeliveries, messageHash } from '../../src/webhooks';
import phoneComplete, { hookControls } from '../fixtures/flows/phone-complete';
import { startTestService, type TestService } from '../helpers/test-service';
import {
  completionNotification,
  flowsNotification,
  messagesNotification,
  postWebhook,
  sign,
  wamid,
} from '../helpers/webhook';

/**
 * The WhatsApp Business webhook through real HTTP (src/webhooks/, src/http/webhook-route.ts):
 * handshake, signatures, completion replies stored once and linked to their token, flow health
 * alerts turned into audit events and metrics, bad input refused without a 5xx, no personal data
 * in logs or in clear in the database.
 */
let t: TestService;
let url: string;
const VERIFY_TOKEN = 'verify-token-for-tests-0123456789';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
const actor = { operator: 'dpo', reason: 'webhook test', osUser: 'tester' };

beforeAll(async () => {
  t = await startTestService({
    flows: [phoneComplete, bookAppointment],
    env: { WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN, METRICS_TOKEN, COMPLETION_HOOK_TIMEOUT_MS: '300' },
  });
  url = `${t.baseUrl}/webhook`;
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => {
  hookControls.mode = 'ok';
  hookControls.calls.length = 0;
});

const secret = (): string => t.env.META_APP_SECRET as string;
const knex = () => t.service.database.knex;
const post = (body: unknown, options: Parameters<typeof postWebhook>[2] = {}) =>
  postWebhook(url, body, { secret: secret(), ...options });
const count = async (table: string, where: Record<string, unknown> = {}): Promise<number> =>
  Number(((await knex()(table).where(where).count({ n: '*' })) as { n: unknown }[])[0]?.n);
const tokenIdOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string }).jti;
const metrics = async (): Promise<string> => {
  const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
};
const initStatus = async (token: string): Promise<number> => (await t.client('phone-complete').init(token)).status;

describe('when Meta verifies the webhook subscription', () => {
  it('then the right verify token gets the challenge back as text', async () => {
    const res = await fetch(`${url}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('1158201444');
  });

  it.each([
    ['a wrong token', `hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong`],
    ['another mode', `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`],
    ['no token', `hub.mode=subscribe&hub.challenge=1`],
    ['a challenge that is markup', `hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=${VERIFY_TOKEN}`],
  ])('then %s is refused with 403', async (_what, query) => {
    const res = await fetch(`${url}?${query}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('');
  });
});

describe('when a notification is not signed by the app', () => {
  it('then a missing signature is 401, a forged one 403, both audited, and nothing is stored', async () => {
    const token = await t.issueToken('+14155550101', 'phone-complete');
    const body = completionNotification({ flowToken: token, answers: { name: 'Forged' } });
    expect((await post(body, { signature: null })).status).toBe(401);
    expect((await post(body, { signature: sign(JSON.stringify(body), 'not-the-app-secret') })).status).toBe(403);
    expect((await post(body, { signature: 'sha256=zz' })).status).toBe(403);
    await t.service.audit.flush();
    const outcomes = (await knex()('audit_events').where({ action: 'webhook' }).pluck('outcome')) as string[];
    expect(outcomes).toEqual(expect.arrayContaining(['webhook_signature_missing', 'webhook_signature_mismatch']));
    expect(await count('submissions', { token_id: tokenIdOf(token) })).toBe(0);
    expect(await initStatus(token)).toBe(200);
  });
});

describe('when a completion reply is delivered three times', () => {
  it('then it is stored once, completes the token (427 afterwards) and runs the hook once', async () => {
    const token = await t.issueToken('+14155550102', 'phone-complete');
    expect(await initStatus(token)).toBe(200);
    const messageId = wamid();
    const body = completionNotification({
      messageId,
      flowToken: token,
      from: '14155550102',
      answers: { name: 'Ada', national_id: 'X1234567', source: 'survey' },
    });
    // The first two overlap (a retry while the first is still being handled), the third comes later.
    const [first, second] = await Promise.all([post(body), post(body)]);
    const third = await post(body);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);

    const tokenId = tokenIdOf(token);
    expect(await count('submissions', { token_id: tokenId })).toBe(1);
    expect((await knex()('flow_tokens').where({ id: tokenId }).first()).status).toBe('completed');
    const events = await knex()('audit_events').where({ action: 'nfm_reply', outcome: 'completion_reply_stored' });
    const mine = events.filter((e: { flow_id: string }) => e.flow_id === 'phone-complete');
    expect(mine).toHaveLength(1);
    expect(mine[0].fields).toEqual({ name: '[redacted]', national_id: '[sensitive]', source: '[redacted]' });
    expect(mine[0].detail).toMatchObject({ via: 'webhook', linked_by: 'flow_token', sender_matches: true });
    expect(mine[0].subject_ref).toEqual(expect.any(String));

    expect(hookControls.calls).toHaveLength(1);
    expect(hookControls.calls[0]).toMatchObject({
      flowId: 'phone-complete',
      tokenId,
      linkedBy: 'flow_token',
      data: { name: 'Ada', national_id: 'X1234567', source: 'survey' },
    });
    expect(hookControls.calls[0]?.data).not.toHaveProperty('flow_token');

    // The endpoint refuses the completed token.
    expect(await initStatus(token)).toBe(427);
    expect(await metrics()).toMatch(/flowgate_webhook_messages_total\{kind="nfm_reply",outcome="duplicate"\} [2-9]/);
  });

  it('then the stored reply is in the subject export and goes with an erasure', async () => {
    const phone = '+14155550103';
    const token = await t.issueToken(phone, 'phone-complete');
    expect(
      (await post(completionNotification({ flowToken: token, answers: { name: 'Grace', national_id: 'Z9' } }))).status,
    ).toBe(200);
    const deps = {
      knex: knex(),
      cipher: t.service.cipher,
      audit: t.service.audit,
      subjectHashKey: t.env.SUBJECT_HASH_KEY as string,
    };
    const exported = await exportSubjectData(deps, phone, actor);
    expect(exported.submissions.map((s) => s.data)).toEqual([{ name: 'Grace', national_id: 'Z9' }]);
    const erased = await eraseSubject(deps, phone, actor);
    expect(erased.submissions).toBe(1);
    expect(await count('submissions', { token_id: tokenIdOf(token) })).toBe(0);
  });
});

describe('when a completion reply carries no flow_token', () => {
  it('then it is linked through context.id once the business recorded the sent message', async () => {
    const token = await t.issueToken('+14155550104', 'phone-complete');
    const sent = wamid();
    const record = await fetch(`${t.baseUrl}/api/flow-messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.env.TOKEN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flow_token: token, message_id: sent }),
    });
    expect(record.status).toBe(201);
    const res = await post(completionNotification({ contextId: sent, answers: { name: 'Linus', national_id: 'L1' } }));
    expect(res.status).toBe(200);
    expect(await count('submissions', { token_id: tokenIdOf(token) })).toBe(1);
    expect(hookControls.calls[0]?.linkedBy).toBe('context_id');
    expect(await initStatus(token)).toBe(427);
  });

  it('then an unknown context id is acknowledged, audited as unlinked, and nothing is stored', async () => {
    const before = await count('submissions');
    const res = await post(completionNotification({ contextId: wamid(), answers: { name: 'Nobody' } }));
    expect(res.status).toBe(200);
    expect(await count('submissions')).toBe(before);
    const unlinked = await knex()('audit_events').where({ outcome: 'completion_reply_unlinked' });
    expect(unlinked.some((e: { detail: { reason?: string } }) => e.detail.reason === 'unknown_context_id')).toBe(true);
  });

  it('then the flow-messages API refuses bad keys, bodies and unknown tokens', async () => {
    const call = (body: unknown, key = t.env.TOKEN_API_KEY) =>
      fetch(`${t.baseUrl}/api/flow-messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    expect((await call({ token_id: 'x', message_id: 'y' }, 'wrong')).status).toBe(401);
    expect((await call('{')).status).toBe(400);
    expect((await call({ token_id: 'abc', message_id: 'm', extra: 1 })).status).toBe(400);
    expect((await call({ token_id: 'ffffffffffffffffffffffff', message_id: 'm' })).status).toBe(404);
  });
});

describe('when a reply cannot complete its token', () => {
  it('then a revoked token, a forged token and a second reply are audited and not stored', async () => {
    const token = await t.issueToken('+14155550105', 'phone-complete');
    await t.service.tokens.revoke({ tokenOrId: token }, { via: 'api' });
    expect((await post(completionNotification({ flowToken: token, answers: { name: 'A' } }))).status).toBe(200);
    const [head, payload] = token.split('.');
    const forged = `${head}.${payload}.${'A'.repeat(43)}`;
    const other = await t.issueToken('+14155550106', 'phone-complete');
    const forgedOther = `${other.split('.')[0]}.${other.split('.')[1]}.${'B'.repeat(43)}`;
    expect((await post(completionNotification({ flowToken: forgedOther, answers: { name: 'B' } }))).status).toBe(200);
    expect((await post(completionNotification({ flowToken: forged, answers: { name: 'C' } }))).status).toBe(200);
    expect(await count('submissions', { token_id: tokenIdOf(token) })).toBe(0);
    expect(await count('submissions', { token_id: tokenIdOf(other) })).toBe(0);
    expect(await initStatus(other)).toBe(200);
    const outcomes = (await knex()('audit_events').where({ action: 'nfm_reply' }).pluck('outcome')) as string[];
    expect(outcomes).toEqual(expect.arrayContaining(['completion_reply_token_revoked', 'completion_reply_unlinked']));
  });
});

describe('when the completion hook fails or hangs', () => {
  it('then the reply stays stored, the delivery is answered 200, and the outcome is counted', async () => {
    hookControls.mode = 'throw';
    const failing = await t.issueToken('+14155550107', 'phone-complete');
    expect((await post(completionNotification({ flowToken: failing, answers: { name: 'F' } }))).status).toBe(200);
    hookControls.mode = 'sleep';
    hookControls.sleepMs = 5000;
    const hanging = await t.issueToken('+14155550108', 'phone-complete');
    const started = Date.now();
    expect((await post(completionNotification({ flowToken: hanging, answers: { name: 'H' } }))).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await count('submissions', { token_id: tokenIdOf(failing) })).toBe(1);
    expect(await count('submissions', { token_id: tokenIdOf(hanging) })).toBe(1);
    const statuses = (await knex()('webhook_messages')
      .whereIn('token_id', [tokenIdOf(failing), tokenIdOf(hanging)])
      .orderBy('hook_status')
      .pluck('hook_status')) as string[];
    expect(statuses).toEqual(['failed', 'timeout']);
    const text = await metrics();
    expect(text).toContain('flowgate_completion_hooks_total{flow="phone-complete",outcome="failed"} 1');
    expect(text).toContain('flowgate_completion_hooks_total{flow="phone-complete",outcome="timeout"} 1');
    expect(t.logs.some((l) => l.includes('onComplete failed'))).toBe(true);
  });
});

describe('when the process stopped before a hook finished', () => {
  it('then a redelivery runs it again from the stored reply, and only once its first run must be over', async () => {
    const token = await t.issueToken('+14155550109', 'phone-complete');
    const body = completionNotification({ flowToken: token, answers: { name: 'Resume', national_id: 'R1' } });
    expect((await post(body)).status).toBe(200);
    expect(hookControls.calls).toHaveLength(1);
    const row = () => knex()('webhook_messages').where({ token_id: tokenIdOf(token) });
    // As if the process had stopped mid-hook just now: a retry arriving meanwhile does not rerun it.
    await row().update({ hook_status: 'pending', received_at: new Date() });
    expect((await post(body)).status).toBe(200);
    expect(hookControls.calls).toHaveLength(1);
    // Long after the hook's timeout: the redelivery runs it, on the decrypted stored reply.
    await row().update({ hook_status: 'pending', received_at: new Date(Date.now() - 60_000) });
    expect((await post(body)).status).toBe(200);
    expect(hookControls.calls).toHaveLength(2);
    expect(hookControls.calls[1]).toMatchObject({
      tokenId: tokenIdOf(token),
      data: { name: 'Resume', national_id: 'R1' },
    });
    expect((await row().first()).hook_status).toBe('done');
    expect(await count('submissions', { token_id: tokenIdOf(token) })).toBe(1);
  });
});

describe('when deduplication rows are past their use', () => {
  it('then they are deleted after 7 days, with the sent-message links of long-expired tokens', async () => {
    const fresh = await t.issueToken('+14155550110', 'phone-complete');
    const old = await t.issueToken('+14155550111', 'phone-complete');
    await knex()('flow_tokens')
      .where({ id: tokenIdOf(old) })
      .update({ expires_at: new Date(Date.now() - 8 * 86_400_000) });
    await knex()('flow_token_messages').insert([
      { message_hash: messageHash('wamid.fresh'), token_id: tokenIdOf(fresh) },
      { message_hash: messageHash('wamid.old'), token_id: tokenIdOf(old) },
    ]);
    await knex()('webhook_messages').insert([
      { message_hash: messageHash('wamid.recent'), outcome: 'stored' },
      {
        message_hash: messageHash('wamid.ancient'),
        outcome: 'stored',
        received_at: new Date(Date.now() - 8 * 86_400_000),
      },
    ]);
    expect(await forgetOldDeliveries(knex())).toBe(2);
    expect(await count('webhook_messages', { message_hash: messageHash('wamid.recent') })).toBe(1);
    expect(await count('flow_token_messages', { token_id: tokenIdOf(fresh) })).toBe(1);
    expect(await count('flow_token_messages', { token_id: tokenIdOf(old) })).toBe(0);
  });
});

describe('when Meta sends flow health alerts', () => {
  const alerts: [string, Record<string, unknown>][] = [
    [
      'endpoint_error_rate',
      {
        event: 'ENDPOINT_ERROR_RATE',
        message: 'The flow endpoint error rate has reached the 10% threshold.',
        flow_id: '1234567890',
        error_rate: 14.28,
        threshold: 10,
        alert_state: 'ACTIVATED',
        errors: [{ error_type: 'TIMEOUT', error_rate: 66.6, error_count: 2 }],
      },
    ],
    [
      'endpoint_latency',
      {
        event: 'ENDPOINT_LATENCY',
        message: 'Flow endpoint latency has reached the p90 threshold.',
        flow_id: '1234567890',
        p90_latency: 8000,
        p50_latency: 500,
        requests_count: 34,
        threshold: 7000,
        alert_state: 'ACTIVATED',
      },
    ],
    [
      'endpoint_availability',
      {
        event: 'ENDPOINT_AVAILABILITY',
        flow_id: '1234567890',
        alert_state: 'ACTIVATED',
        availability: 75,
        threshold: 90,
      },
    ],
    [
      'client_error_rate',
      {
        event: 'CLIENT_ERROR_RATE',
        flow_id: '555000111',
        error_rate: 6,
        threshold: 5,
        alert_state: 'ACTIVATED',
        errors: [{ error_type: 'INVALID_SCREEN_TRANSITION', error_rate: 100, error_count: 3 }],
      },
    ],
  ];

  it.each(alerts)('then %s becomes an audit event, a warning and an active alert gauge', async (kind, value) => {
    expect((await post(flowsNotification(value))).status).toBe(200);
    const event = value.event as string;
    const audited = await knex()('audit_events').where({ action: 'flow_alert', outcome: event.toLowerCase() });
    expect(audited.length).toBeGreaterThanOrEqual(1);
    expect(audited.at(-1).detail).toMatchObject({ event, meta_flow_id: value.flow_id, alert_state: 'ACTIVATED' });
    const flow = value.flow_id === '1234567890' ? 'phone-complete' : value.flow_id;
    if (flow === 'phone-complete') expect(audited.at(-1).flow_id).toBe('phone-complete');
    expect(t.logs.some((l) => l.includes(`WhatsApp flow alert ${event}`) && l.includes('"warn"'))).toBe(true);
    const text = await metrics();
    expect(text).toContain(`flowgate_flow_alert_active{flow="${String(flow)}",kind="${kind}"} 1`);
    expect(text).toContain(`flowgate_flow_alerts_total{flow="${String(flow)}",kind="${kind}",state="ACTIVATED"} 1`);
  });

  it('then DEACTIVATED clears the gauge, and a redelivered alert is counted once', async () => {
    const value = {
      event: 'ENDPOINT_LATENCY',
      flow_id: '1234567890',
      alert_state: 'DEACTIVATED',
      p90_latency: 400,
      threshold: 1000,
    };
    const body = flowsNotification(value, 1_800_000_000);
    expect((await post(body)).status).toBe(200);
    expect((await post(body)).status).toBe(200);
    const text = await metrics();
    expect(text).toContain('flowgate_flow_alert_active{flow="phone-complete",kind="endpoint_latency"} 0');
    expect(text).toContain(
      'flowgate_flow_alerts_total{flow="phone-complete",kind="endpoint_latency",state="DEACTIVATED"} 1',
    );
    expect(
      (await knex()('flow_alert_states').where({ meta_flow_id: '1234567890', kind: 'endpoint_latency' }).first()).state,
    ).toBe('DEACTIVATED');
  });

  it('then FLOW_STATUS_CHANGE sets the status gauge and counts the change', async () => {
    const value = {
      event: 'FLOW_STATUS_CHANGE',
      message: 'Flow changed status from PUBLISHED to THROTTLED',
      flow_id: '1234567890',
      old_status: 'PUBLISHED',
      new_status: 'THROTTLED',
    };
    expect((await post(flowsNotification(value))).status).toBe(200);
    const text = await metrics();
    expect(text).toContain('flowgate_flow_status{flow="phone-complete",status="THROTTLED"} 1');
    expect(text).toContain('flowgate_flow_status{flow="phone-complete",status="PUBLISHED"} 0');
    expect(text).toContain(
      'flowgate_flow_status_changes_total{flow="phone-complete",from="PUBLISHED",to="THROTTLED"} 1',
    );
    const audited = await knex()('audit_events').where({ action: 'flow_alert', outcome: 'flow_status_change' });
    expect(audited.at(-1).detail).toMatchObject({ old_status: 'PUBLISHED', new_status: 'THROTTLED' });
  });
});

describe('when a notification is malformed, oversized or of another kind', () => {
  it('then it is refused with a 4xx or acknowledged, never a 5xx', async () => {
    const bad: [string | Buffer, string | undefined, number][] = [
      ['{"object":', undefined, 400],
      ['[]', undefined, 400],
      ['{"object":"whatsapp_business_account","entry":"x"}', undefined, 400],
      ['{"__proto__":{"x":1},"object":"whatsapp_business_account","entry":[]}', undefined, 400],
      [Buffer.from([0xff, 0xfe, 0x00]), undefined, 400],
      ['{"object":"whatsapp_business_account","entry":[]}', 'text/plain', 415],
      ['x'.repeat(4 * 1024 * 1024 + 10), undefined, 413],
    ];
    for (const [body, contentType, status] of bad) {
      const res = await post(body, { contentType });
      expect(res.status).toBe(status);
    }
    // A flow reply whose response_json is not JSON, an alert of an unknown shape and ordinary
    // messages are acknowledged (WhatsApp must not redeliver them forever) and stored nowhere.
    const before = await count('submissions');
    const odd = [
      completionNotification({ rawResponseJson: '{not json' }),
      completionNotification({ rawResponseJson: '"a string"' }),
      flowsNotification({ event: 'ENDPOINT_LATENCY', flow_id: 'not digits' }),
      flowsNotification({ event: 'FLOW_VERSION_EXPIRY_WARNING', flow_id: '1234567890', warning: 'freeze in 21 days' }),
      messagesNotification([{ from: '14155550100', id: wamid(), type: 'text', text: { body: 'hello' } }, 42, null]),
      { object: 'page', entry: [{ changes: [{ field: 'feed', value: {} }] }] },
    ];
    for (const body of odd) expect((await post(body)).status).toBe(200);
    expect(await count('submissions')).toBe(before);
    const text = await metrics();
    expect(text).toMatch(/flowgate_webhook_messages_total\{kind="text",outcome="ignored"\} \d/);
    expect(text).toMatch(/flowgate_webhook_deliveries_total\{outcome="too_large",status="413"\} 1/);
  });
});

describe('when a reply carries personal data', () => {
  it('then no canary reaches a log line or an unencrypted column', async () => {
    const canaries = {
      name: 'CanaryName-7f3a91',
      national_id: 'CanaryId-55c2e0',
      profile: 'CanaryProfile-a1b2c3',
      phone: '14155550999',
    };
    const token = await t.issueToken(`+${canaries.phone}`, 'phone-complete');
    const body = completionNotification({
      flowToken: token,
      from: canaries.phone,
      profileName: canaries.profile,
      answers: { name: canaries.name, national_id: canaries.national_id, [canaries.name]: 'key as canary' },
    });
    expect((await post(body)).status).toBe(200);
    // The same canaries in refused and malformed deliveries.
    expect((await post(body, { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(403);
    const half = JSON.stringify(body).slice(0, 200);
    expect((await post(half)).status).toBe(400);
    await t.service.audit.flush();

    const logs = t.logs.join('\n');
    // Every value of every table, as text (bytea as hex): the reply may only be in a ciphertext.
    const tables = (await knex()('information_schema.tables')
      .where({ table_schema: t.service.database.schema, table_type: 'BASE TABLE' })
      .pluck('table_name')) as string[];
    expect(tables).toEqual(expect.arrayContaining(['webhook_messages', 'flow_token_messages', 'flow_alert_states']));
    const rows = await Promise.all(
      tables.map(
        async (table) => ((await knex().raw('SELECT t::text AS row FROM ?? t', [table])) as { rows: unknown[] }).rows,
      ),
    );
    const dump = JSON.stringify(rows);
    const submissions = (await knex()('submissions')
      .where({ token_id: tokenIdOf(token) })
      .select()) as {
      ciphertext: Uint8Array;
      field_names: unknown;
    }[];
    expect(submissions).toHaveLength(1);
    const stored = Buffer.from(submissions[0]!.ciphertext).toString('latin1');
    for (const canary of Object.values(canaries)) {
      expect(logs).not.toContain(canary);
      expect(dump).not.toContain(canary);
      expect(stored).not.toContain(canary);
      expect(JSON.stringify(submissions[0]!.field_names)).not.toContain(canary);
    }
    // …and the reply itself is there, encrypted: the hook saw it decrypted.
    expect(hookControls.calls.at(-1)?.data).toMatchObject({ name: canaries.name, national_id: canaries.national_id });
  });
});
