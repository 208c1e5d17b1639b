import bookAppointment from '../../src/flows/book-appointment';
import { GENERIC_ERROR_MESSAGE, TIMEOUT_MESSAGE } from '../../src/endpoint';
import misbehaving, { calls, controls, resetMisbehaving } from '../fixtures/flows/misbehaving';
import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok } from '../helpers/walk';
import type { WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Developer code that misbehaves (issue #2): the user stays on the current screen with a message
 * at HTTP 200 and the log names flow and screen; without a screen to stay on (INIT) it is a 500
 * with an empty body. Driven through HTTP by the node-forge client against the `misbehaving` flow.
 */

const HANDLER_TIMEOUT_MS = 300;
let t: TestService;
let client: WhatsAppClient;
let phone = 0;

beforeAll(async () => {
  t = await startTestService({
    flows: [bookAppointment, misbehaving],
    env: { HANDLER_TIMEOUT_MS: String(HANDLER_TIMEOUT_MS) },
  });
  client = t.client('misbehaving');
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => resetMisbehaving());

/** A fresh token whose session already shows START. */
async function onStart(): Promise<string> {
  const token = await t.issueToken(`+1415555${String(1000 + phone++)}`, 'misbehaving');
  expect(ok(await client.init(token)).screen).toBe('START');
  return token;
}

const startWith = (token: string, behaviour: string, name = 'Ada'): Promise<ReturnType<WhatsAppClient['send']>> =>
  client.exchange(token, 'START', { name, behaviour }) as never;

describe('when the handler behaves', () => {
  it('then INIT, data_exchange, BACK with refresh_on_back and completion all work', async () => {
    const token = await onStart();
    const middle = await startWith(token, 'ok');
    expect(ok(middle)).toEqual({ version: '3.0', screen: 'MIDDLE', data: { note: 'Hi' } });
    const back = await client.back(token, 'MIDDLE');
    expect(ok(back)).toEqual({ version: '3.0', screen: 'START', data: { greeting: 'Welcome back', field_errors: {} } });
    expect(calls.back).toBe(1);
    // Back on START, the user cannot be on MIDDLE until START is sent again (sessions follow the flow).
    expect((await client.exchange(token, 'MIDDLE', { step: 'finish' })).status).toBe(400);
    expect(ok(await startWith(token, 'ok')).screen).toBe('MIDDLE');
    const done = await client.exchange(token, 'MIDDLE', { step: 'finish' });
    expect(ok(done)).toEqual({
      version: '3.0',
      screen: 'SUCCESS',
      data: { extension_message_response: { params: { outcome: 'finished', flow_token: token } } },
    });
    const replay = await client.exchange(token, 'MIDDLE', { step: 'finish' });
    expect(replay.status).toBe(427);
    expect(replay.json).toEqual({ error_msg: 'You have already completed this form.' });
    expect(calls.middle).toBe(1);
  });

  it('then showError() re-shows the screen with the message and the bound field errors', async () => {
    const token = await onStart();
    const reply = await startWith(token, 'show_error');
    expect(reply.status).toBe(200);
    expect(ok(reply)).toEqual({
      version: '3.0',
      screen: 'START',
      data: { greeting: 'Hello', field_errors: { name: 'Try another name' }, error_message: 'Not today' },
    });
  });
});

describe('when the incoming data fails the schema derived from the Flow JSON', () => {
  it.each([
    ['a too-short name', { name: 'A', behaviour: 'ok' }, { name: 'At least 2 characters' }, 'Please check: Name'],
    ['an unknown option', { name: 'Ada', behaviour: 'fly' }, { behaviour: 'Choose one of the options' }, null],
    ['a missing field', { behaviour: 'ok' }, { name: 'This field is required' }, 'Please check: Name'],
    ['a number for a text field', { name: 12, behaviour: 'ok' }, { name: 'Invalid value' }, 'Please check: Name'],
    ['a key the Flow JSON never sends', { name: 'Ada', behaviour: 'ok', admin: true }, {}, null],
  ])(
    'with %s, then the same screen comes back at HTTP 200 with an error and the handler is not called',
    async (_what, data, fieldErrors, message) => {
      const token = await onStart();
      const reply = await client.exchange(token, 'START', data);
      expect(reply.status).toBe(200);
      const body = ok(reply);
      expect(body.screen).toBe('START');
      const shown = body.data as Record<string, unknown>;
      expect(shown.greeting).toBe('Hello');
      expect(typeof shown.error_message).toBe('string');
      if (message) expect(shown.error_message).toBe(message);
      if (Object.keys(fieldErrors).length > 0) expect(shown.field_errors).toEqual(fieldErrors);
      expect(calls.start).toBe(0);
    },
  );
});

describe('when the data_exchange handler fails', () => {
  const cases: [string, string][] = [
    ['throws an Error', 'throw'],
    ['throws a non-Error value', 'throw_value'],
    ['throws while parsing user input', 'throw_parse'],
    ['returns next() to a screen that does not exist', 'wrong_screen'],
    ['returns data the target screen does not declare', 'undeclared_data'],
    ['returns data without a declared property', 'missing_data'],
    ['returns data of the wrong type', 'wrong_type'],
    ['returns next() to a screen outside routing_model', 'bad_route'],
    ['returns a plain object instead of a builder result', 'not_a_result'],
    ['calls a builder wrongly', 'bad_builder'],
  ];
  it.each(cases)(
    'and %s, then the user stays on the screen with a generic error at HTTP 200',
    async (_what, behaviour) => {
      const token = await onStart();
      const before = t.logs.length;
      const reply = await startWith(token, behaviour);
      expect(reply.status).toBe(200);
      expect(ok(reply)).toEqual({
        version: '3.0',
        screen: 'START',
        data: { greeting: 'Hello', field_errors: {}, error_message: GENERIC_ERROR_MESSAGE },
      });
      expect(calls.start).toBe(1);
      // The log says which flow and screen failed, so the developer can find it (issue #2).
      const lines = t.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 'error', flowId: 'misbehaving', screen: 'START', reason: expect.any(String) }),
      );
    },
  );

  it('and it throws, then the log names the error class and the failing line, not the message', async () => {
    const token = await onStart();
    const before = t.logs.length;
    ok(await startWith(token, 'throw'));
    const line = t.logs
      .slice(before)
      .map((l) => JSON.parse(l) as { message: string; error?: { name: string; at: string[]; message?: string } })
      .find((l) => l.message === 'screen handler failed');
    expect(line?.error?.name).toBe('Error');
    expect(line?.error?.message).toBeUndefined();
    expect(line?.error?.at[0]).toMatch(/fixtures\/flows\/misbehaving\/index\.ts:\d+/);
  });

  it('and it is fixed on the next attempt, then the same token continues normally', async () => {
    const token = await onStart();
    ok(await startWith(token, 'throw'));
    expect(ok(await startWith(token, 'ok')).screen).toBe('MIDDLE');
  });

  it('and it sleeps past HANDLER_TIMEOUT_MS, then the screen comes back with the timeout message in time', async () => {
    const token = await onStart();
    controls.sleepMs = 10_000;
    const started = Date.now();
    const reply = await startWith(token, 'sleep');
    const took = Date.now() - started;
    expect(ok(reply)).toEqual({
      version: '3.0',
      screen: 'START',
      data: { greeting: 'Hello', field_errors: {}, error_message: TIMEOUT_MESSAGE },
    });
    expect(took).toBeGreaterThanOrEqual(HANDLER_TIMEOUT_MS - 20);
    expect(took).toBeLessThan(controls.sleepMs);
    // The late handler cannot move the session on: the user is still on START.
    expect(ok(await startWith(token, 'ok')).screen).toBe('MIDDLE');
  });
});

describe('when onBack fails', () => {
  it.each([
    ['throws', 'throw'],
    ['returns undeclared data', 'undeclared_data'],
  ] as const)('and %s, then the screen where back was pressed stays with a generic error', async (_w, behaviour) => {
    const token = await onStart();
    ok(await startWith(token, 'ok'));
    controls.back = behaviour;
    const reply = await client.back(token, 'MIDDLE');
    expect(ok(reply)).toEqual({
      version: '3.0',
      screen: 'MIDDLE',
      data: { note: 'Hi', error_message: GENERIC_ERROR_MESSAGE },
    });
  });

  it('and BACK comes from a screen without refresh_on_back, then it is refused (400, empty body)', async () => {
    const token = await onStart();
    const reply = await client.back(token, 'START');
    expect(reply.status).toBe(400);
    expect(reply.rawBody).toBe('');
    expect(calls.back).toBe(0);
  });
});

describe('when onInit fails there is no screen to stay on', () => {
  it.each([
    ['throws', 'throw'],
    ['sleeps past the budget', 'sleep'],
    ['calls showError()', 'show_error'],
    ['opens a screen that is not an entry screen', 'bad_route'],
    ['returns undeclared data', 'undeclared_data'],
  ] as const)('and it %s, then the answer is 500 with an empty body', async (_w, behaviour) => {
    controls.init = behaviour;
    const token = await t.issueToken(`+1415555${String(1000 + phone++)}`, 'misbehaving');
    const reply = await client.init(token);
    expect(reply.status).toBe(500);
    expect(reply.rawBody).toBe('');
    expect(calls.init).toBe(1);
  });
});

describe('when the request names a screen the Flow JSON does not have', () => {
  it('then it is refused with 400 and an empty body, and no handler runs', async () => {
    const token = await onStart();
    const reply = await client.exchange(token, 'NOPE', { name: 'Ada', behaviour: 'ok' });
    expect(reply.status).toBe(400);
    expect(reply.rawBody).toBe('');
    expect(calls.start).toBe(0);
  });

  it('then a terminal screen that sends no data_exchange is refused the same way', async () => {
    const token = await onStart();
    const reply = await client.exchange(token, 'END', {});
    expect(reply.status).toBe(400);
    expect(reply.rawBody).toBe('');
  });
});

describe('when WhatsApp pings', () => {
  it('then the answer is {"data":{"status":"active"}} without a token and without developer code', async () => {
    const reply = await client.ping();
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/plain/);
    expect(reply.json).toEqual({ version: '3.0', data: { status: 'active' } });
    expect(calls).toMatchObject({ init: 0, start: 0, middle: 0, back: 0 });
  });

  it('then a ping to the other flow is answered the same way', async () => {
    expect((await t.client('book-appointment').ping()).json).toEqual({ version: '3.0', data: { status: 'active' } });
  });
});

describe('when WhatsApp reports an error about an earlier response', () => {
  const notifications: [string, Record<string, unknown>][] = [
    ['error (sample)', { error: 'invalid-screen-transition' }],
    ['error_key and error_message (table)', { error_key: 'payload-schema-error', error_message: 'bad' }],
    ['error_message alone', { error_message: 'Something failed' }],
  ];
  it.each(notifications)('with %s, then it is acknowledged and never reaches a handler', async (_what, data) => {
    const token = await onStart();
    const initCalls = calls.init;
    for (const [action, screen] of [
      ['data_exchange', 'START'],
      ['INIT', undefined],
      ['BACK', 'MIDDLE'],
    ] as const) {
      const reply = await client.send({ version: '3.0', action, flow_token: token, screen, data });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ version: '3.0', data: { acknowledged: true } });
    }
    expect(calls).toMatchObject({ init: initCalls, start: 0, middle: 0, back: 0 });
    // The session is untouched: the user can carry on from START.
    expect(ok(await startWith(token, 'ok')).screen).toBe('MIDDLE');
  });

  it('then it is acknowledged even after the token completed (the client reports late)', async () => {
    const token = await onStart();
    ok(await startWith(token, 'ok'));
    ok(await client.exchange(token, 'MIDDLE', { step: 'finish' }));
    const reply = await client.send({
      version: '3.0',
      action: 'data_exchange',
      flow_token: token,
      screen: 'MIDDLE',
      data: { error: 'response-decryption-error' },
    });
    expect(reply.json).toEqual({ version: '3.0', data: { acknowledged: true } });
  });

  it('then a forged token still gets 427', async () => {
    const reply = await client.send({
      version: '3.0',
      action: 'data_exchange',
      flow_token: 'a.b.c',
      screen: 'START',
      data: { error: 'x' },
    });
    expect(reply.status).toBe(427);
    expect(calls.start).toBe(0);
  });

  it('then the acknowledgement does not depend on the data shape of the screen', async () => {
    const token = await onStart();
    const reply = await client.send({
      version: '3.0',
      action: 'data_exchange',
      flow_token: token,
      screen: 'START',
      data: { error: 'payload-schema-error', name: 1, extra: [1, 2] },
    });
    expect(dataOf(reply)).toEqual({ acknowledged: true });
  });
});
