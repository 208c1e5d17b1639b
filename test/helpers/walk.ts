import type { WhatsAppClient, FlowReply } from './whatsapp-client';

/** Asserts a 200 reply and returns its decrypted JSON. */
export function ok(reply: FlowReply): Record<string, unknown> {
  if (reply.status !== 200 || !reply.json) {
    throw new Error(`expected an encrypted 200 reply, got ${reply.status}: ${reply.rawBody.slice(0, 200)}`);
  }
  return reply.json;
}

export function dataOf(reply: FlowReply): Record<string, unknown> {
  return ok(reply).data as Record<string, unknown>;
}

/** A date in the example's booking window that has free times, with its first free time. */
export async function pickBookableDate(
  client: WhatsAppClient,
  token: string,
): Promise<{ date: string; time: string; reply: FlowReply }> {
  const day = 86_400_000;
  for (let i = 1; i <= 30; i++) {
    const date = new Date(Date.now() + i * day).toISOString().slice(0, 10);
    const reply = await client.exchange(token, 'APPOINTMENT', { trigger: 'date_selected', date });
    const data = dataOf(reply);
    if (data.is_time_enabled === true) {
      const times = data.time as { id: string }[];
      return { date, time: times[0].id, reply };
    }
  }
  throw new Error('no bookable date in the window');
}

export interface WalkAnswers {
  name: string;
  email: string;
  phone: string;
  notes: string;
}

/** Walks the example flow from INIT to completion; returns every reply in order. */
export async function walkBookAppointment(
  client: WhatsAppClient,
  token: string,
  answers: WalkAnswers,
): Promise<FlowReply[]> {
  const replies: FlowReply[] = [];
  const expectScreen = (reply: FlowReply, screen: string): void => {
    const got = ok(reply).screen;
    if (got !== screen)
      throw new Error(`expected screen ${screen}, got ${String(got)}: ${JSON.stringify(ok(reply).data)}`);
    replies.push(reply);
  };
  expectScreen(await client.init(token), 'APPOINTMENT');
  const { date, time, reply } = await pickBookableDate(client, token);
  expectScreen(reply, 'APPOINTMENT');
  expectScreen(
    await client.exchange(token, 'APPOINTMENT', {
      trigger: 'appointment_chosen',
      department: 'cardiology',
      location: 'central',
      date,
      time,
    }),
    'DETAILS',
  );
  expectScreen(await client.exchange(token, 'DETAILS', { ...answers }), 'SUMMARY');
  expectScreen(await client.exchange(token, 'SUMMARY', { consent: true }), 'SUCCESS');
  return replies;
}
