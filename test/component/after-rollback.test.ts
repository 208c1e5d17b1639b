import bookAppointment from '../../src/flows/book-appointment';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok, pickBookableDate } from '../helpers/walk';

/**
 * `ctx.afterRollback` through the example flow: SUMMARY holds the chosen slot in the calendar and
 * gives it back when the completion is not stored. The database refuses the submission (a trigger
 * the test installs), the user gets an error, and a second user can then book the same slot.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment] });
});
afterAll(async () => {
  await t.stop();
});

const details = { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+441234567890', notes: '' };

/** Walks a fresh token to SUMMARY with the given (or first free) slot. */
async function toSummary(phone: string, slot?: { date: string; time: string }) {
  const client = t.client();
  const token = await t.issueToken(phone);
  expect(ok(await client.init(token)).screen).toBe('APPOINTMENT');
  const chosen = slot ?? (await pickBookableDate(client, token));
  if (slot) await client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date: slot.date });
  const toDetails = await client.exchange(token, 'APPOINTMENT', {
    trigger: 'appointment_chosen',
    department: 'cardiology',
    location: 'central',
    date: chosen.date,
    time: chosen.time,
  });
  expect(ok(toDetails).screen).toBe('DETAILS');
  expect(ok(await client.exchange(token, 'DETAILS', details)).screen).toBe('SUMMARY');
  return { client, token, slot: { date: chosen.date, time: chosen.time } };
}

describe('when the completion cannot be stored after the handler held a slot', () => {
  it('then the user gets an error, the slot is given back, and another user can book it', async () => {
    const knex = t.service.database.knex;
    const first = await toSummary('+14155550171');
    await knex.raw(`CREATE FUNCTION refuse_submissions() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await knex.raw(
      `CREATE TRIGGER refuse BEFORE INSERT ON submissions FOR EACH ROW EXECUTE FUNCTION refuse_submissions()`,
    );
    try {
      const failed = await first.client.exchange(first.token, 'SUMMARY', { consent: true });
      expect(failed.status).toBe(500);
      expect(failed.rawBody).toBe('');
    } finally {
      await knex.raw('DROP TRIGGER refuse ON submissions');
      await knex.raw('DROP FUNCTION refuse_submissions()');
    }
    // The rollback task runs just after the failure is answered; give it a moment.
    await new Promise((r) => setTimeout(r, 50));
    const second = await toSummary('+14155550172', first.slot);
    const done = await second.client.exchange(second.token, 'SUMMARY', { consent: true });
    expect(ok(done).screen).toBe('SUCCESS');
    // And now it is really taken: a third user cannot even choose it.
    await expect(toSummary('+14155550173', first.slot)).rejects.toThrow();
  });
});
