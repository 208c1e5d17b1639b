import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The token API (src/http/token-api.ts) through real HTTP: what the business's messaging system
 * calls before sending a flow message. Each issue and revocation is a compliance event that names
 * the service's database login (migration 20261129000008 refuses one that does not).
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
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
