import { createHash } from 'node:crypto';
import { canonicalJson, columnsOf, eventOfRow, GENESIS_HASH } from '../../src/audit';
import { DbFixture } from '../helpers/db-fixture';

jest.setTimeout(180_000);

/**
 * The audit record's one definition (src/audit/record.ts) against rows already in the log, and
 * the token actions of the HTTP API and the CLI against each other, through their real interfaces.
 */
let f: DbFixture;
beforeAll(async () => {
  f = new DbFixture();
  await f.cli('migrate', []);
});
afterAll(async () => {
  await f.cleanup();
});

/**
 * How rows were written before the record had one definition, spelled out here on purpose: the
 * canonical content of that writer (fixed keys, nulls for absent values, the actor's keys inside
 * `detail`). Rows written this way are what a deployed log holds.
 */
function legacyArgument(e: {
  occurredAt: Date;
  kind: string;
  outcome: string;
  requestId?: string;
  flowId?: string;
  screen?: string;
  action?: string;
  httpStatus?: number;
  durationMs?: number;
  tokenHash?: string;
  subjectRef?: string;
  fields?: Record<string, string>;
  detail?: Record<string, unknown>;
}): Record<string, unknown> {
  const columns = {
    kind: e.kind,
    occurred_at: e.occurredAt.toISOString(),
    request_id: e.requestId ?? null,
    flow_id: e.flowId ?? null,
    screen: e.screen ?? null,
    action: e.action ?? null,
    outcome: e.outcome,
    http_status: e.httpStatus ?? null,
    duration_ms: e.durationMs ?? null,
    token_hash: e.tokenHash ?? null,
    subject_ref: e.subjectRef ?? null,
    fields: e.fields ?? null,
    detail: e.detail ?? null,
  };
  return { content: canonicalJson(columns), ...columns };
}

describe('when the log holds rows written before the record had one definition', () => {
  it('then every one reads back to the same columns and `npm run audit -- verify` passes, before and after new events', async () => {
    const old = [
      {
        occurredAt: new Date('2026-11-30T10:00:00.123Z'),
        kind: 'request',
        outcome: 'ping',
        httpStatus: 200,
        durationMs: 3,
      },
      {
        occurredAt: new Date('2026-11-30T10:00:01Z'),
        kind: 'request',
        outcome: 'invalid_data',
        requestId: 'r-1',
        flowId: 'book-appointment',
        screen: 'DETAILS',
        action: 'data_exchange',
        httpStatus: 200,
        durationMs: 12,
        tokenHash: 'ab'.repeat(16),
        subjectRef: 'cd'.repeat(16),
        fields: { name: '[redacted]', email: '[sensitive]' },
        detail: { reason: 'schema', path: '/name' },
      },
      {
        occurredAt: new Date('2026-11-30T10:00:02Z'),
        kind: 'compliance',
        outcome: 'submission_read',
        flowId: 'book-appointment',
        detail: { via: 'cli', operator: 'kim', reason: 'T-1', os_user: 'kim', submission_id: 's-1', key_id: 'k1' },
      },
      {
        occurredAt: new Date('2026-11-30T10:00:03Z'),
        kind: 'compliance',
        outcome: 'token_issued',
        flowId: 'book-appointment',
        detail: { via: 'api', expires_at: '2026-12-01T10:00:03.000Z' },
      },
      { occurredAt: new Date('2026-11-30T10:00:04Z'), kind: 'compliance', outcome: 'console_viewed', detail: {} },
    ];
    await f.withDb(async (knex) => {
      const login = ((await knex.raw('SELECT session_user AS u')) as { rows: { u: string }[] }).rows[0]?.u;
      await knex('audit_chain_heads').insert({ chain: 0, seq: 0, hash: GENESIS_HASH }).onConflict('chain').ignore();
      const args = old.map((e) =>
        legacyArgument(e.kind === 'compliance' ? { ...e, detail: { ...e.detail, database_user: login } } : e),
      );
      await knex.raw('select audit_append(1, ?::jsonb)', [JSON.stringify(args)]);
      const rows = (await knex('audit_events').where({ chain: 0 }).orderBy('seq')) as Record<string, unknown>[];
      expect(rows).toHaveLength(old.length);
      for (const [i, row] of rows.entries()) {
        // The definition reads the old row and gives back exactly what was hashed.
        expect(canonicalJson(columnsOf(eventOfRow(row)))).toBe(args[i]?.content);
        expect(
          createHash('sha256')
            .update(`${String(row.prev_hash)}|0|${i + 1}|${String(args[i]?.content)}`)
            .digest('hex'),
        ).toBe(row.hash);
      }
      // The actor of an old compliance row is read out of `detail` as a field of its own.
      expect(eventOfRow(rows[2] as Record<string, unknown>)).toMatchObject({
        actor: { via: 'cli', operator: 'kim', reason: 'T-1', osUser: 'kim', databaseUser: login },
        detail: { submission_id: 's-1', key_id: 'k1' },
      });
    });
    const before = await f.cli('audit', ['verify']);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);

    // New events through today's writers, on top of the old ones.
    const running = await f.startService();
    await running.issueToken('+14155550901');
    await f.stopService();
    const after = await f.cli('audit', ['verify']);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/audit log intact: \d+ chain\(s\), (\d+) event\(s\)/);
  });
});

describe('when the same token action is taken through the HTTP API and through the CLI', () => {
  it('then both record the same audit event, but for who acted', async () => {
    const running = await f.startService();
    const api = async (path: string, body: unknown) => {
      const res = await fetch(new URL(path, running.client.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${f.env.TOKEN_API_KEY as string}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as Record<string, unknown>;
    };
    const viaApi = await api('/api/tokens', { flow_id: 'book-appointment', phone: '+14155550911', ttl_seconds: 3600 });
    expect(await api('/api/tokens/revoke', { token_id: viaApi.token_id })).toEqual({ revoked: 1 });
    expect(await api('/api/tokens/revoke', { phone: '+14155550911' })).toEqual({ revoked: 0 });
    await f.stopService();

    const issued = await f.cli('token', [
      'issue',
      '--flow',
      'book-appointment',
      '--phone',
      '+14155550912',
      '--ttl',
      '3600',
      '--json',
    ]);
    expect(issued.code).toBe(0);
    const viaCli = JSON.parse(issued.stdout) as Record<string, unknown>;
    expect((await f.cli('token', ['revoke', '--id', String(viaCli.token_id)])).stdout).toBe('revoked 1 token(s)\n');
    expect((await f.cli('token', ['revoke', '--phone', '+14155550912'])).stdout).toBe('revoked 0 token(s)\n');

    const events = await f.withDb(async (knex) => {
      const rows = (await knex('audit_events')
        .whereIn('outcome', ['token_issued', 'token_revoked'])
        .orderBy([{ column: 'occurred_at' }, { column: 'chain' }, { column: 'seq' }])) as Record<string, unknown>[];
      return rows.map(eventOfRow).filter((e) => e.actor?.via !== undefined && e.occurredAt.getTime() > 0);
    });
    const byVia = (via: string) =>
      events
        .filter((e) => e.actor?.via === via)
        .slice(-3)
        .map(({ occurredAt: _at, actor: _actor, ...rest }) => ({
          ...rest,
          // Expiry differs by the seconds between the two issues; its presence and form do not.
          detail: { ...rest.detail, ...(rest.detail?.expires_at ? { expires_at: 'ISO' } : {}) },
        }));
    const apiEvents = byVia('api');
    expect(apiEvents.map((e) => e.outcome)).toEqual(['token_issued', 'token_revoked', 'token_revoked']);
    expect(byVia('cli')).toEqual(apiEvents);
    expect(apiEvents[0]).toMatchObject({
      kind: 'compliance',
      flowId: 'book-appointment',
      detail: { expires_at: 'ISO' },
    });
    expect(apiEvents.slice(1).map((e) => e.detail)).toEqual([{ revoked: 1 }, { revoked: 0 }]);

    const actors = events
      .filter((e) => e.outcome === 'token_issued')
      .slice(-2)
      .map((e) => e.actor);
    expect(actors[0]).toEqual({ via: 'api', databaseUser: expect.any(String) });
    expect(actors[1]).toEqual({ via: 'cli', osUser: expect.any(String), databaseUser: actors[0]?.databaseUser });
    // Neither the phone number nor the token reaches the log.
    expect(JSON.stringify(events)).not.toMatch(/415555091|\.ey/);
    expect((await f.cli('audit', ['verify'])).code).toBe(0);
  });
});
