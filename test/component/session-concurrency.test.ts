import bookAppointment from '../../src/flows/book-appointment';
import { tokenHash } from '../../src/tokens';
import misbehaving, { calls, controls, resetMisbehaving } from '../fixtures/flows/misbehaving';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';

/**
 * Read, run, write (src/flows/dispatcher.ts): no connection and no lock is held while a handler
 * runs, and a request whose session another request of the same token changed meanwhile runs
 * again on the new state. One database connection (PGlite has one; DATABASE_POOL_MAX=1 on
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
  const issued = await t.service.tokens.issue({
    flowId: 'misbehaving',
    phone: `+1415555${String(6000 + phone++)}`,
  });
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
      const other = await t.service.tokens.issue({ flowId: 'book-appointment', phone: '+14155556999' });
      const init = await within(t.client().init(other.token), 5000);
      expect(init === 'still waiting' ? init : ok(init).screen).toBe('APPOINTMENT');
    } finally {
      gate.open();
    }
    expect(ok(await slow).screen).toBe('MIDDLE');
    expect(calls).toMatchObject({ start: 1, committed: 1, rolledBack: 0 });
  });
});

describe('when two requests of one token overlap', () => {
  it('then the one that read a stale session runs again on the new one, and each is stored and audited once', async () => {
    const { token, id } = await tokenOnStart();
    const client = t.client('misbehaving');
    const gate = closeGate();
    // First: reads the session (START), then waits in its handler.
    const first = client.exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    await gate.entered();
    // Second: same token, goes through to MIDDLE and commits while the first still waits.
    expect(ok(await client.exchange(token, 'START', { name: 'Grace', behaviour: 'ok' })).screen).toBe('MIDDLE');
    gate.open();
    // The first's write finds the session changed: its result is discarded (rollback effects run)
    // and it runs again on the new session, then commits.
    expect(ok(await first).screen).toBe('MIDDLE');
    expect(calls).toMatchObject({ start: 3, committed: 1, rolledBack: 1 });

    const knex = t.service.database.knex;
    const session = (await knex('flow_sessions').where({ token_id: id }).first('request_count')) as {
      request_count: number;
    };
    expect(Number(session.request_count)).toBe(3); // INIT and the two requests, each once
    await t.service.audit.flush();
    const events = (await knex('audit_events')
      .where({ token_hash: tokenHash(id), screen: 'START' })
      .select('request_id', 'outcome')) as { request_id: string; outcome: string }[];
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.request_id)).size).toBe(2);
  });

  it('then a request racing the completion of its token gets 427, and nothing of it is stored', async () => {
    const { token, id } = await tokenOnStart();
    const client = t.client('misbehaving');
    ok(await client.exchange(token, 'START', { name: 'Ada', behaviour: 'ok' }));
    const gate = closeGate();
    // Back on START (a retry of an old request, say), waiting in the handler...
    const late = client.exchange(token, 'START', { name: 'Ada', behaviour: 'wait' });
    await gate.entered();
    // ...while MIDDLE completes the flow.
    expect(ok(await client.exchange(token, 'MIDDLE', { step: 'finish' })).screen).toBe('SUCCESS');
    gate.open();
    expect((await late).status).toBe(427);
    expect(calls).toMatchObject({ committed: 0, rolledBack: 1 });
    const session = (await t.service.database
      .knex('flow_sessions')
      .where({ token_id: id })
      .first('current_screen', 'request_count')) as { current_screen: string; request_count: number };
    expect(Number(session.request_count)).toBe(3); // INIT, START, MIDDLE
  });
});
