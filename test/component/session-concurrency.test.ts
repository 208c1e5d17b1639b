import knexFactory from 'knex';
import bookAppointment from '../../src/flows/book-appointment';
import { tokenHash } from '../../src/tokens';
import misbehaving, { calls, controls, resetMisbehaving } from '../fixtures/flows/misbehaving';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';

/**
 * Read, run, write (src/endpoint/session-step.ts): no connection and no lock is held while a handler
 * runs; requests of one token queue within a process; a request whose session another process
 * changed meanwhile runs again on the new state. One database connection (PGlite has one; DATABASE_POOL_MAX=1 on
 * PostgreSQL), so any request that held it across its handler would block all the others.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment, misbehaving], env: { DATABASE_POOL_MAX: '1' } });
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => resetMisbehaving());

let phone = 0;
async function tokenOnStart(): Promise<{ token: string; id: string }> {
  const issued = await t.service.tokens.issue(
    { flowId: 'misbehaving', phone: `+1415555${String(6000 + phone++)}` },
    { via: 'api' },
  );
  expect(ok(await t.client('misbehaving').init(issued.token)).screen).toBe('START');
  return { token: issued.token, id: issued.id };
}

/** A gate the `wait` behaviour blocks on, and a promise that resolves once a handler waits on it. */
function closeGate(): { open: () => void; entered: () => Promise<void> } {
  let open!: () => void;
  controls.gate = new Promise<void>((resolve) => (open = resolve));
  let signal!: () => void;
  const entered = new Promise<void>((resolve) => (signal = resolve));
  controls.entered = signal;
  return { open, entered: () => entered };
}

/** Resolves with `value`, or with 'still waiting' if `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  return Promise.race([promise, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), ms).unref())]);
}

describe('when a handler is slow', () => {
  it('then other requests are served while it runs, even with one database connection', async () => {
    const { token } = await tokenOnStart();
    const gate = closeGate();
    const slow = t.client('misbehaving').exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    await gate.entered();
    try {
      // Both need the database: an audited ping, and another user's INIT (read and write).
      const ping = await within(t.client().ping(), 5000);
      expect(ping === 'still waiting' ? ping : ping.status).toBe(200);
      const other = await t.service.tokens.issue({ flowId: 'book-appointment', phone: '+14155556999' }, { via: 'api' });
      const init = await within(t.client().init(other.token), 5000);
      expect(init === 'still waiting' ? init : ok(init).screen).toBe('APPOINTMENT');
    } finally {
      gate.open();
    }
    expect(ok(await slow).screen).toBe('MIDDLE');
    expect(calls).toMatchObject({ start: 1, committed: 1, rolledBack: 0 });
  });
});

describe('when two requests of one token overlap in one process', () => {
  it('then the second waits for the first and runs once, on the session the first left', async () => {
    const { token, id } = await tokenOnStart();
    const client = t.client('misbehaving');
    const gate = closeGate();
    const order: string[] = [];
    const first = client.exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    void first.then(() => order.push('first'));
    await gate.entered();
    const second = client.exchange(token, 'START', { name: 'Grace', behaviour: 'ok' });
    void second.then(() => order.push('second'));
    // Unqueued, the second (no waiting in its handler) would be answered long before the gate opens.
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual([]);
    gate.open();
    expect(ok(await first).screen).toBe('MIDDLE');
    expect(ok(await second).screen).toBe('MIDDLE');
    expect(order).toEqual(['first', 'second']);
    expect(calls).toMatchObject({ start: 2, committed: 1, rolledBack: 0 });
    expect(await requestCount(id)).toBe(3); // INIT and the two requests, each once
  });
});

/**
 * Another process serving the same token is played by the test itself, writing the session row
 * (or completing the token) while the handler waits, as that process's request would.
 */
describe('when another process changes the session while a handler runs', () => {
  it('then nothing of the stale attempt is stored, its rollback effect runs, and it runs again on the new session', async () => {
    const { token, id } = await tokenOnStart();
    const gate = closeGate();
    const request = t.client('misbehaving').exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    await gate.entered();
    await knex()('flow_sessions').where({ token_id: id }).increment('request_count', 1);
    gate.open();
    expect(ok(await request).screen).toBe('MIDDLE');
    expect(calls).toMatchObject({ start: 2, committed: 1, rolledBack: 1 });
    expect(await requestCount(id)).toBe(3); // INIT, the other process's write, this request once
    await t.service.audit.flush();
    const events = (await knex()('audit_events')
      .where({ token_hash: tokenHash(id), screen: 'START' })
      .select('request_id')) as { request_id: string }[];
    expect(events).toHaveLength(1);
  });

  it('then a request whose token another process completed meanwhile gets 427, and nothing of it is stored', async () => {
    const { token, id } = await tokenOnStart();
    const gate = closeGate();
    const request = t.client('misbehaving').exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    await gate.entered();
    await knex()('flow_tokens').where({ id }).update({ status: 'completed' });
    gate.open();
    expect((await request).status).toBe(427);
    expect(calls).toMatchObject({ start: 1, committed: 0, rolledBack: 1 });
    expect(await requestCount(id)).toBe(1); // INIT only
  });
});

const onPostgres = Boolean(process.env.DATABASE_URL);
(onPostgres ? describe : describe.skip)('when an erasure is in flight as the handler finishes', () => {
  it('then the request waits for it, finds the token revoked, and does not write the erased session back', async () => {
    const { token, id } = await tokenOnStart();
    // The erasure's side: its own connection, the order of src/compliance/data-subject.ts.
    const other = knexFactory({
      client: 'pg',
      connection: process.env.DATABASE_URL,
      searchPath: [t.service.database.schema],
      pool: { min: 0, max: 2 },
    });
    try {
      const gate = closeGate();
      const request = t.client('misbehaving').exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
      await gate.entered();
      const erasure = await other.transaction();
      await erasure('flow_tokens').where({ id }).forUpdate().select('id');
      await erasure('flow_sessions').where({ token_id: id }).delete();
      await erasure('flow_tokens').where({ id }).update({ status: 'revoked' });
      gate.open();
      // Commit only once the request's write waits on the erasure's locks.
      for (let i = 0; i < 250; i++) {
        const waiting = (await other.raw(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND a.application_name = 'flowgate'`,
        )) as { rows: { n: number }[] };
        if ((waiting.rows[0]?.n ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await erasure.commit();
      expect((await request).status).toBe(427);
      expect(await other('flow_sessions').where({ token_id: id }).first()).toBeUndefined();
      expect(calls).toMatchObject({ committed: 0, rolledBack: 1 });
    } finally {
      await other.destroy();
    }
  });
});

const knex = () => t.service.database.knex;

async function requestCount(tokenId: string): Promise<number> {
  const row = (await knex()('flow_sessions').where({ token_id: tokenId }).first('request_count')) as {
    request_count: number;
  };
  return Number(row.request_count);
}
