import bookAppointment from '../../src/flows/book-appointment';
import { tokenHash } from '../../src/tokens';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok, pickBookableDate } from '../helpers/walk';
import type { FlowReply, WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * The SQL round trips a request waits on for its session and audit event (issue 18), counted where
 * they are sent: the request path's statements (src/storage/direct-sql.ts, BEGIN and COMMIT
 * included). The rate limiter's shared store, when configured, is counted by its own tests. A regression to two statements per submission fails here, not in a benchmark.
 * On PGlite and, with DATABASE_URL, on PostgreSQL.
 */
let t: TestService;
let client: WhatsAppClient;
beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment] });
  client = t.client('book-appointment');
});
afterAll(async () => {
  await t.stop();
});

/** The session read, then BEGIN, token, session, submission, the example's declared consent, audit event, COMMIT. */
const COMPLETION_STATEMENTS = 8;

const sent = (): number => t.service.database.sql.statementsSent;

/** Statements sent while `request` ran, its audit event committed included. */
async function roundTrips(request: () => Promise<FlowReply>): Promise<{ reply: FlowReply; statements: number }> {
  await t.service.audit.flush();
  const before = sent();
  const reply = await request();
  await t.service.audit.flush();
  return { reply, statements: sent() - before };
}

async function outcomes(token: string): Promise<string[]> {
  await t.service.audit.flush();
  const verified = await t.service.codec.verify(token, 'book-appointment');
  const rows = (await t.service.database
    .knex('audit_events')
    .where({ token_hash: tokenHash(verified.id) })
    .orderBy([{ column: 'occurred_at' }, { column: 'seq' }])
    .select('outcome')) as { outcome: string }[];
  return rows.map((r) => r.outcome);
}

describe('statements per request', () => {
  it('a ping is one statement: its audit event, group-committed', async () => {
    const { reply, statements } = await roundTrips(() => client.ping());
    expect(ok(reply).data).toEqual({ status: 'active' });
    expect(statements).toBe(1);
  });

  it('INIT, data_exchange and BACK are two statements each: the session read, then the guarded write with its audit event', async () => {
    const token = await t.issueToken();
    const init = await roundTrips(() => client.init(token));
    expect(ok(init.reply).screen).toBe('APPOINTMENT');
    // Read the session, then write it with the audit event.
    expect(init.statements).toBe(2);

    const reInit = await roundTrips(() => client.init(token));
    expect(ok(reInit.reply).screen).toBe('APPOINTMENT');
    expect(reInit.statements).toBe(2);

    const { date, time } = await pickBookableDate(client, token);
    const exchange = await roundTrips(() => client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date }));
    expect(dataOf(exchange.reply).is_time_enabled).toBe(true);
    expect(exchange.statements).toBe(2);

    const chosen = await roundTrips(() =>
      client.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'cardiology',
        location: 'central',
        date,
        time,
      }),
    );
    expect(ok(chosen.reply).screen).toBe('DETAILS');
    expect(chosen.statements).toBe(2);

    const details = await roundTrips(() =>
      client.exchange(token, 'DETAILS', { name: 'Ada', email: 'ada@example.com', phone: '+14155550100', notes: '' }),
    );
    expect(ok(details.reply).screen).toBe('SUMMARY');
    expect(details.statements).toBe(2);

    // The example's DETAILS refreshes on back: its onBack shows APPOINTMENT again.
    const back = await roundTrips(() => client.back(token, 'DETAILS'));
    expect(ok(back.reply).screen).toBe('APPOINTMENT');
    expect(back.statements).toBe(2);

    ok(
      await client.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'cardiology',
        location: 'central',
        date,
        time,
      }),
    );
    ok(
      await client.exchange(token, 'DETAILS', {
        name: 'Ada',
        email: 'ada@example.com',
        phone: '+14155550100',
        notes: '',
      }),
    );
    const done = await roundTrips(() => client.exchange(token, 'SUMMARY', { consent: true }));
    expect(ok(done.reply).screen).toBe('SUCCESS');
    expect(done.statements).toBe(COMPLETION_STATEMENTS);
  });

  it('a session another process changed is read as it now is, and written once', async () => {
    const token = await t.issueToken();
    const { id } = await t.service.codec.verify(token, 'book-appointment');
    ok(await client.init(token));
    // Another process served a request of this token meanwhile: the version moved on.
    await t.service.database.knex('flow_sessions').where({ token_id: id }).increment('request_count', 1);
    const date = (await pickBookableDate(client, token)).date;
    const { reply, statements } = await roundTrips(() =>
      client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date }),
    );
    expect(dataOf(reply).is_time_enabled).toBe(true);
    expect(statements).toBe(2);

    await t.service.database.knex('flow_sessions').where({ token_id: id }).increment('request_count', 1);
    const again = await roundTrips(() => client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date }));
    expect(dataOf(again.reply).is_time_enabled).toBe(true);
    // The read sees the new version, so the guarded write succeeds at once.
    expect(again.statements).toBe(2);
    const row = (await t.service.database.knex('flow_sessions').where({ token_id: id }).first('request_count')) as {
      request_count: number;
    };
    // INIT, the date lookups and the two increments: every write counted once.
    expect(Number(row.request_count)).toBeGreaterThanOrEqual(5);
  });

  it('a revoked token is refused after the session read, before any developer code, nothing stored', async () => {
    const token = await t.issueToken();
    const { id } = await t.service.codec.verify(token, 'book-appointment');
    ok(await client.init(token));
    const before = (await t.service.database.knex('flow_sessions').where({ token_id: id }).first('request_count')) as {
      request_count: number;
    };
    await t.service.database.knex('flow_tokens').where({ id }).update({ status: 'revoked', revoked_at: new Date() });
    const { reply, statements } = await roundTrips(() => client.init(token));
    expect(reply.status).toBe(427);
    // The session read (which sees the revoked token), then the rejection's audit event.
    expect(statements).toBe(2);
    const after = (await t.service.database.knex('flow_sessions').where({ token_id: id }).first('request_count')) as {
      request_count: number;
    };
    expect(after.request_count).toBe(before.request_count);
    expect((await outcomes(token)).slice(-1)).toEqual(['flow_token_invalid']);
  });
});
