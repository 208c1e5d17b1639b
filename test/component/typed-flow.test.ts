import typedSurvey from '../fixtures/flows/typed-survey';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok } from '../helpers/walk';
import type { WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * The typed fixture flow through the real service: what the generated types promise a handler
 * (`${data.x}` echoes of the declared type, another screen's OptIn as a boolean, checkbox arrays)
 * is what the request check lets through, and what breaks the promise never reaches the handler.
 */

let t: TestService;
let client: WhatsAppClient;
let phone = 0;
beforeAll(async () => {
  t = await startTestService({ flows: [typedSurvey] });
  client = t.client('typed-survey');
});
afterAll(async () => {
  await t.stop();
});

const survey = {
  source: 'survey',
  name: 'Ada',
  city: 'lis',
  // Inputs inside If/Switch branches are sent here as if shown: the request check (not the
  // generated types, which make them optional) still requires every required input.
  contact: 'phone',
  phone: '+351 912 345 678',
  topics: ['news'],
  newsletter: true,
  email: 'ada@example.com',
  intro: 'A few questions',
};
const rating = {
  stay: { 'start-date': '2026-01-05', 'end-date': '2026-01-07' },
  born: '1990-12-10',
  who: 'Ada',
  opted: true,
  topics: ['news'],
  label: 'Rated by Ada',
  version: 2,
  final: true,
};

async function onSurvey(): Promise<string> {
  const token = await t.issueToken(`+1415555${String(2000 + phone++)}`, 'typed-survey');
  expect(ok(await client.init(token)).screen).toBe('SURVEY');
  return token;
}

describe('when WhatsApp walks a flow written with generated types', () => {
  it('then the typed handlers answer and the flow completes', async () => {
    const token = await onSurvey();
    const rate = ok(await client.exchange(token, 'SURVEY', survey));
    expect(rate).toMatchObject({ screen: 'RATE', data: { greeting: 'Hello Ada (news)' } });
    const thanks = ok(await client.exchange(token, 'RATE', rating));
    expect(thanks).toMatchObject({
      screen: 'THANKS',
      data: { score_text: 'Ada rated a stay in lis (0 photos)', count: 2, level: 'gold' },
    });
    const end = dataOf(await client.exchange(token, 'THANKS', {}));
    expect(end.extension_message_response).toEqual({ params: { flow_token: token, rated: true, who: 'Ada' } });
  });

  it.each([
    ['a ${data.x} echo of the wrong type', 'SURVEY', { ...survey, intro: 42 }],
    ['a missing ${data.x} echo', 'SURVEY', { ...survey, intro: undefined }],
    ["another screen's OptIn as a string", 'RATE', { ...rating, opted: 'yes' }],
    ["another screen's checkbox answer outside its options", 'RATE', { ...rating, topics: ['gossip'] }],
  ])('then %s never reaches the handler', async (_what, screen, payload) => {
    const token = await onSurvey();
    if (screen === 'RATE') expect(ok(await client.exchange(token, 'SURVEY', survey)).screen).toBe('RATE');
    const body = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
    const reply = ok(await client.exchange(token, screen, body));
    expect(reply.screen).toBe(screen);
    expect((reply.data as Record<string, unknown>).error_message).toEqual(expect.any(String));
  });
});
