import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The token API (src/http/token-api.ts) through real HTTP: what the business's messaging system
 * calls before sending a flow message. Each issue and revocation is a compliance event that names
 * the service's database login (migration 20261129000008 refuses one that does not).
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
}, 180_000);
afterAll(async () => {
  await t.stop();
});

const call = (path: string, body: unknown, authorization = `Bearer ${t.env.TOKEN_API_KEY}`) =>
  fetch(`${t.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('when the messaging system issues and revokes a token', () => {
  it('then both are answered and audited as compliance events carrying the database login', async () => {
    const issued = await call('/api/tokens', { flow_id: 'book-appointment', phone: '+14155550177' });
    expect(issued.status).toBe(201);
    const { flow_token, token_id } = (await issued.json()) as { flow_token: string; token_id: string };
    expect(typeof flow_token).toBe('string');
    const revoked = await call('/api/tokens/revoke', { token_id });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: 1 });

    const knex = t.service.database.knex;
    const login = ((await knex.raw('SELECT session_user AS login')) as { rows: { login: string }[] }).rows[0]?.login;
    const events = await knex('audit_events')
      .where({ kind: 'compliance' })
      .whereIn('outcome', ['token_issued', 'token_revoked'])
      .orderBy('occurred_at');
    expect(events.map((e: { outcome: string }) => e.outcome)).toEqual(['token_issued', 'token_revoked']);
    for (const e of events) expect(e.detail).toMatchObject({ via: 'api', database_user: login });
    // Nothing that identifies the person or the token.
    expect(JSON.stringify(events)).not.toContain('4155550177');
    expect(JSON.stringify(events)).not.toContain(flow_token);
  });

  it('then a wrong key is 401 and malformed bodies are 400, and none of them is audited', async () => {
    const before = await t.service.database.knex('audit_events').where({ kind: 'compliance' }).count({ n: '*' });
    expect(
      (await call('/api/tokens', { flow_id: 'book-appointment', phone: '+14155550178' }, 'Bearer no')).status,
    ).toBe(401);
    expect((await call('/api/tokens', '{"flow_id":')).status).toBe(400);
    expect((await call('/api/tokens', { flow_id: 'book-appointment', phone: 'not a phone' })).status).toBe(400);
    expect((await call('/api/tokens', { flow_id: 'no-such-flow', phone: '+14155550178' })).status).toBe(400);
    expect((await call('/api/tokens', 'x'.repeat(20_000))).status).toBe(413);
    expect((await call('/api/tokens/revoke', {})).status).toBe(400);
    const after = await t.service.database.knex('audit_events').where({ kind: 'compliance' }).count({ n: '*' });
    expect(after).toEqual(before);
  });
});

describe('when a body carries more or other than the API defines', () => {
  const errorOf = async (path: string, body: unknown): Promise<{ status: number; error: string }> => {
    const res = await call(path, body);
    return { status: res.status, error: ((await res.json()) as { error: string }).error };
  };
  const issue = { flow_id: 'book-appointment', phone: '+14155550179' };

  it('then an unknown field is 400 naming it, never a token for the default lifetime', async () => {
    const before = await t.service.database.knex('flow_tokens').count({ n: '*' });
    expect(await errorOf('/api/tokens', { ...issue, ttl: 1 })).toEqual({
      status: 400,
      error: 'unknown field "ttl" (allowed: flow_id, phone, ttl_seconds)',
    });
    expect(await errorOf('/api/tokens/revoke', { phone: '+14155550179', everything: true })).toMatchObject({
      status: 400,
      error: expect.stringContaining('unknown field "everything"'),
    });
    // Nothing was issued.
    expect(await t.service.database.knex('flow_tokens').count({ n: '*' })).toEqual(before);
  });

  it.each([
    ['__proto__', '{"flow_id":"book-appointment","phone":"+14155550179","__proto__":{"ttl_seconds":60}}'],
    ['constructor', '{"flow_id":"book-appointment","phone":"+14155550179","constructor":{"prototype":{}}}'],
    ['prototype', '{"phone":"+14155550179","prototype":1}'],
  ])('then a %s key is refused with 400', async (key, raw) => {
    const path = key === 'prototype' ? '/api/tokens/revoke' : '/api/tokens';
    expect(await errorOf(path, raw)).toEqual({ status: 400, error: `field "${key}" is not allowed` });
    expect(({} as Record<string, unknown>).ttl_seconds).toBeUndefined();
  });

  it.each([
    [{ ...issue, ttl_seconds: 59 }, '"ttl_seconds" must be >= 60'],
    [{ ...issue, ttl_seconds: 90 * 86400 + 1 }, '"ttl_seconds" must be <= 7776000'],
    [{ ...issue, ttl_seconds: 600.5 }, '"ttl_seconds" must be a whole number'],
    [{ ...issue, ttl_seconds: '600' }, '"ttl_seconds" must be a whole number'],
    [{ flow_id: 'book-appointment', phone: 14155550179 }, '"phone" must be a string'],
    [{ flow_id: 'book-appointment' }, '"phone" is required'],
    [{ flow_id: '', phone: '+14155550179' }, '"flow_id" must NOT have fewer than 1 characters'],
    [['book-appointment'], 'body must be a JSON object: {"flow_id": "...", "phone": "+...", "ttl_seconds": 3600}'],
  ])('then %j is 400: %s', async (body, message) => {
    expect(await errorOf('/api/tokens', body)).toEqual({ status: 400, error: message });
  });

  it('then a ttl_seconds within bounds sets the lifetime', async () => {
    const res = await call('/api/tokens', { ...issue, ttl_seconds: 600 });
    expect(res.status).toBe(201);
    const { expires_at } = (await res.json()) as { expires_at: string };
    const lifetime = Date.parse(expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(590_000);
    expect(lifetime).toBeLessThanOrEqual(600_000);
  });

  it('then revoke takes exactly one of flow_token, token_id and phone', async () => {
    const both = await errorOf('/api/tokens/revoke', { token_id: 'x', phone: '+14155550179' });
    expect(both).toEqual({ status: 400, error: 'give exactly one of "flow_token", "token_id", "phone"' });
    expect(await errorOf('/api/tokens/revoke', { token_id: 7 })).toEqual({
      status: 400,
      error: '"token_id" must be a string',
    });
  });

  it('then an error body never echoes a value the client sent', async () => {
    const { error } = await errorOf('/api/tokens', { flow_id: 'book-appointment', phone: 4155550111, 'Ana +4155': 1 });
    expect(error).not.toContain('4155550111');
    expect(error).not.toContain('Ana');
    expect(error).toContain('(a field whose name is not shown)');
  });
});
