import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok, pickBookableDate, walkBookAppointment } from '../helpers/walk';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

describe('when WhatsApp walks the example flow', () => {
  it('then every screen arrives in order and the flow completes with the token in params', async () => {
    const token = await t.issueToken('+14155550101');
    const replies = await walkBookAppointment(t.client(), token, {
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      phone: '+44 20 7946 0000',
      notes: 'chest pain',
    });
    expect(replies.map((r) => ok(r).screen)).toEqual(['APPOINTMENT', 'APPOINTMENT', 'DETAILS', 'SUMMARY', 'SUCCESS']);
    const init = dataOf(replies[0]);
    expect(init.is_time_enabled).toBe(false);
    expect((init.department as unknown[]).length).toBeGreaterThan(0);
    expect(dataOf(replies[1]).is_time_enabled).toBe(true);
    expect(dataOf(replies[3]).contact).toBe('Ada Lovelace, ada@example.com, +44 20 7946 0000');
    const params = (dataOf(replies[4]).extension_message_response as { params: Record<string, unknown> }).params;
    expect(params.flow_token).toBe(token);
    expect(params.booking_ref).toMatch(/^[0-9A-F]{8}$/);
  });

  it('then a completed token cannot be replayed (427 with an encrypted error_msg)', async () => {
    const token = await t.issueToken('+14155550102');
    const client = t.client();
    await walkBookAppointment(client, token, { name: 'Bo Li', email: 'bo@example.com', phone: '', notes: '' });
    const replay = await client.init(token);
    expect(replay.status).toBe(427);
    expect(replay.json).toEqual({ error_msg: 'You have already completed this form.' });
  });

  it('then BACK from DETAILS refreshes APPOINTMENT with free times of the chosen date', async () => {
    const token = await t.issueToken('+14155550103');
    const client = t.client();
    ok(await client.init(token));
    const { date, time } = await pickBookableDate(client, token);
    ok(
      await client.exchange(token, 'APPOINTMENT', {
        trigger: 'appointment_chosen',
        department: 'general',
        location: 'north',
        date,
        time,
      }),
    );
    const back = await client.back(token, 'DETAILS');
    expect(ok(back).screen).toBe('APPOINTMENT');
    expect(dataOf(back).is_time_enabled).toBe(true);
  });
});
