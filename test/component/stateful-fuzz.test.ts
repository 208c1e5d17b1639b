import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import bookAppointment from '../../src/flows/book-appointment';
import { bookingWindow, freeSlots } from '../../src/flows/book-appointment/calendar';
import { startTestService, type TestService } from '../helpers/test-service';
import type { FlowReply, WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Stateful fuzzing (fast-check model-based testing, issue 13): random sequences of INIT, BACK,
 * data_exchange from random screens with valid, unoffered or arbitrary data, and error
 * notifications, each sequence on a fresh genuine flow token of the example flow, through real HTTP
 * with the node-forge client. A small model follows what the client was last sent and asserts:
 *   - no answer is a 5xx, and every answer is 200, 400 or 427;
 *   - a request from a screen the session cannot be on is refused (400) and changes nothing;
 *   - no completion without APPOINTMENT and DETAILS passed on the way to SUMMARY, and every stored
 *     submission holds both screens' answers;
 *   - after completion, only error notifications are answered 200, everything else 427;
 *   - no generated canary value (free text, unoffered options, error texts and keys, actions)
 *     appears in any log line or in any table, in plaintext.
 *
 * Bounded for CI (PROPERTY_RUNS sequences of up to 20 commands; 25 by default, about half a minute
 * of requests here); a longer hunt: PROPERTY_RUNS=300 npm test -- stateful-fuzz.
 */

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
jest.setTimeout(Math.max(180_000, RUNS * 20_000));

let t: TestService;
let client: WhatsAppClient;
const canaries = new Set<string>();
const completedTokens: string[] = [];
const stats = { requests: 0, completed: 0, refused: 0 };

beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment] });
  client = t.client('book-appointment');
});
afterAll(async () => {
  await t.stop();
});

type Screen = 'APPOINTMENT' | 'DETAILS' | 'SUMMARY';
const SCREENS: readonly Screen[] = ['APPOINTMENT', 'DETAILS', 'SUMMARY'];

interface Model {
  /** The screen of the last 200 screen reply; undefined before any. */
  lastSent: Screen | undefined;
  passedAppointment: boolean;
  passedDetails: boolean;
  completed: boolean;
}

interface Real {
  readonly token: string;
}

/** A canary is registered when a command uses it (shrunk runs included). */
const canaryArb = fc
  .uint8Array({ minLength: 7, maxLength: 7 })
  .map((bytes) => `cnry${Buffer.from(bytes).toString('hex')}`);

function used(value: string): string {
  canaries.add(value);
  return value;
}

/** A date in the booking window with a free time now, and that time. */
function bookable(): { date: string; time: string } {
  const { min_date } = bookingWindow();
  const start = Date.parse(`${min_date}T00:00:00Z`);
  for (let i = 0; i < 30; i++) {
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    const slot = freeSlots(date)[0];
    if (slot) return { date, time: slot.id };
  }
  throw new Error('no free time in the booking window');
}

function check(reply: FlowReply, allowed: readonly number[], what: string): void {
  stats.requests++;
  if (reply.status >= 500) throw new Error(`${what}: answered ${reply.status}`);
  if (!allowed.includes(reply.status))
    throw new Error(`${what}: answered ${reply.status}, expected ${allowed.join('/')}`);
  if (reply.status === 400) stats.refused++;
}

/** Moves the model after a 200 screen reply to a request from `from`. */
function moved(model: Model, from: Screen | 'INIT' | 'BACK', reply: FlowReply): void {
  const screen = reply.json?.screen;
  if (screen === 'SUCCESS') {
    if (!(model.lastSent === 'SUMMARY' && model.passedAppointment && model.passedDetails)) {
      throw new Error(`completed without the required screens: ${JSON.stringify(model)}`);
    }
    model.completed = true;
    return;
  }
  if (screen === 'APPOINTMENT') {
    model.passedAppointment = false;
    model.passedDetails = false;
  } else if (screen === 'DETAILS') {
    model.passedAppointment = model.passedAppointment || from === 'APPOINTMENT';
    if (from !== 'APPOINTMENT' && model.lastSent !== 'DETAILS' && model.lastSent !== 'SUMMARY') {
      throw new Error(`DETAILS sent from ${from} while on ${model.lastSent}`);
    }
    model.passedDetails = false;
  } else if (screen === 'SUMMARY') {
    if (from !== 'DETAILS' && from !== 'SUMMARY') throw new Error(`SUMMARY sent after a request from ${from}`);
    if (from === 'DETAILS') model.passedDetails = true;
  } else throw new Error(`unexpected reply ${JSON.stringify(reply.json)}`);
  model.lastSent = screen;
}

class InitCommand implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const reply = await client.init(real.token);
    if (model.completed) return check(reply, [427], 'INIT after completion');
    check(reply, [200], 'INIT');
    moved(model, 'INIT', reply);
  }
  toString = (): string => 'INIT';
}

class BackCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly screen: Screen) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const reply = await client.back(real.token, this.screen);
    if (model.completed) return check(reply, [427], 'BACK after completion');
    // Only DETAILS has refresh_on_back, and only once the session got past APPOINTMENT.
    const possible = this.screen === 'DETAILS' && (model.lastSent === 'DETAILS' || model.lastSent === 'SUMMARY');
    check(reply, possible ? [200] : [400], `BACK from ${this.screen} while on ${model.lastSent}`);
    if (reply.status === 200) moved(model, 'BACK', reply);
  }
  toString = (): string => `BACK(${this.screen})`;
}

type DataKind = 'valid' | 'unoffered' | 'junk';

class ExchangeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly screen: Screen,
    readonly kind: DataKind,
    readonly junk: Record<string, unknown>,
    readonly texts: readonly string[],
    readonly dateOnly: boolean,
  ) {}
  check = (): boolean => true;

  data(): Record<string, unknown> {
    const [a = 'cnry', b = 'cnry', c = 'cnry'] = this.texts.map(used);
    if (this.kind === 'junk') return this.junk;
    if (this.screen === 'APPOINTMENT') {
      const { date, time } = bookable();
      if (this.dateOnly) return { trigger: 'date_selected', date };
      const department = this.kind === 'unoffered' ? `${a}\u202e` : 'dermatology';
      return { trigger: 'appointment_chosen', department, location: 'north', date, time };
    }
    if (this.screen === 'DETAILS') {
      return this.kind === 'unoffered'
        ? { name: `A ${a}`, email: `${b}@mailinator.com`, phone: `+${c}`, notes: c }
        : { name: `Ada ${a}`, email: `${b}@example.com`, phone: '', notes: `notes ${c}` };
    }
    return this.kind === 'valid' ? { consent: true } : { consent: false, note: a };
  }

  async run(model: Model, real: Real): Promise<void> {
    const reply = await client.exchange(real.token, this.screen, this.data());
    if (model.completed) return check(reply, [427], `${this.screen} after completion`);
    const possible =
      this.screen === 'APPOINTMENT' ||
      (this.screen === 'DETAILS' && (model.lastSent === 'DETAILS' || model.lastSent === 'SUMMARY')) ||
      (this.screen === 'SUMMARY' && model.lastSent === 'SUMMARY');
    // From a screen the session can be on: 200 (next screen or an error on it), or 400 for data
    // that cannot be shown again (invalid data on a screen never sent, e.g. APPOINTMENT before INIT).
    check(reply, possible ? [200, 400] : [400], `${this.screen} (${this.kind}) while on ${model.lastSent}`);
    if (reply.status !== 200) return;
    if (reply.json?.screen === 'SUCCESS') completedTokens.push(real.token);
    moved(model, this.screen, reply);
  }
  toString = (): string => `EXCHANGE(${this.screen}, ${this.kind}${this.dateOnly ? ', date' : ''})`;
}

/** The valid next step from wherever the model says the client is: walks the flow forward. */
class ProgressCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly texts: readonly string[]) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const screen = model.lastSent ?? 'APPOINTMENT';
    await new ExchangeCommand(screen, 'valid', {}, this.texts, false).run(model, real);
  }
  toString = (): string => 'PROGRESS';
}

class NotifyCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly message: string,
    readonly action: string,
  ) {}
  check = (): boolean => true;
  async run(_model: Model, real: Real): Promise<void> {
    const reply = await client.send({
      version: '3.0',
      action: this.action,
      flow_token: real.token,
      screen: 'SUMMARY',
      data: { error: this.key, error_message: this.message },
    });
    check(reply, [200], 'error notification');
    if (JSON.stringify(reply.json?.data) !== '{"acknowledged":true}') throw new Error('not acknowledged');
  }
  toString = (): string => `NOTIFY(${this.key.slice(0, 12)})`;
}

const screenArb = fc.constantFrom(...SCREENS);
const junkArb = fc.dictionary(
  fc.constantFrom('trigger', 'date', 'time', 'department', 'location', 'name', 'email', 'phone', 'notes', 'consent'),
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    canaryArb.map(used),
    fc.constantFrom('date_selected', 'appointment_chosen', '2030-01-01', true, ''),
  ),
);
const commandArbs = [
  fc.constant(new InitCommand()),
  ...Array.from({ length: 2 }, () =>
    fc.array(canaryArb, { minLength: 3, maxLength: 3 }).map((texts) => new ProgressCommand(texts)),
  ),
  screenArb.map((s) => new BackCommand(s)),
  // Valid data from a screen ahead of the client's (a skip) is the attack this test is about.
  fc
    .record({
      screen: fc.constantFrom<Screen>('DETAILS', 'SUMMARY'),
      texts: fc.array(canaryArb, { minLength: 3, maxLength: 3 }),
    })
    .map((c) => new ExchangeCommand(c.screen, 'valid', {}, c.texts, false)),
  fc
    .record({
      screen: screenArb,
      kind: fc.constantFrom<DataKind>('valid', 'valid', 'valid', 'unoffered', 'junk'),
      junk: junkArb,
      texts: fc.array(canaryArb, { minLength: 3, maxLength: 3 }),
      dateOnly: fc.boolean(),
    })
    .map((c) => new ExchangeCommand(c.screen, c.kind, c.junk, c.texts, c.dateOnly)),
  fc
    .record({
      key: fc.oneof(fc.constantFrom('payload-schema-error', 'timeout_error'), canaryArb),
      text: canaryArb,
      action: fc.oneof(fc.constantFrom('data_exchange', 'INIT'), canaryArb),
    })
    .map(
      ({ key, text, action }) =>
        new NotifyCommand(
          key.startsWith('cnry') ? used(key) : key,
          `Ada \u202e${used(text)}\u2066 +4420${randomBytes(4).readUInt32BE() % 100_000_000}`,
          action.startsWith('cnry') ? used(action) : action,
        ),
    ),
];

describe('when random sequences of requests run against one genuine token each', () => {
  it('then nothing answers 5xx, no screen is skipped and nothing completes without its screens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 20 }), async (commands) => {
        const token = await t.issueToken('+14155557100');
        const setup = () => ({
          model: { lastSent: undefined, passedAppointment: false, passedDetails: false, completed: false } as Model,
          real: { token },
        });
        await fc.asyncModelRun(setup, commands);
      }),
      { numRuns: RUNS },
    );
    expect(stats.requests).toBeGreaterThan(RUNS * 3);
    expect(stats.refused).toBeGreaterThan(0);
    // Long hunts must also reach completions at random (the guided walk below covers short runs).
    if (RUNS >= 50) expect(completedTokens.length).toBeGreaterThan(0);
  });

  it('then the guided walk with skips completes only through every screen', async () => {
    const token = await t.issueToken('+14155557101');
    const model: Model = { lastSent: undefined, passedAppointment: false, passedDetails: false, completed: false };
    const steps: fc.AsyncCommand<Model, Real>[] = [
      new InitCommand(),
      new ExchangeCommand('SUMMARY', 'valid', {}, ['cnry0', 'cnry1', 'cnry2'], false),
      new ExchangeCommand('APPOINTMENT', 'valid', {}, ['cnry0', 'cnry1', 'cnry2'], true),
      new ExchangeCommand('APPOINTMENT', 'valid', {}, ['cnry0', 'cnry1', 'cnry2'], false),
      new ExchangeCommand('SUMMARY', 'valid', {}, ['cnry0', 'cnry1', 'cnry2'], false),
      new ExchangeCommand(
        'DETAILS',
        'valid',
        {},
        [used(`cnry${randomBytes(7).toString('hex')}`), 'cnryb', 'cnryc'],
        false,
      ),
      new ExchangeCommand('SUMMARY', 'valid', {}, ['cnry0', 'cnry1', 'cnry2'], false),
      new NotifyCommand('payload-schema-error', used(`cnry${randomBytes(7).toString('hex')}`), 'data_exchange'),
      new InitCommand(),
    ];
    for (const step of steps) await step.run(model, { token });
    expect(model.completed).toBe(true);
  });
});

describe('when the logs and tables are searched afterwards', () => {
  it('then every stored submission holds APPOINTMENT and DETAILS answers', async () => {
    expect(completedTokens.length).toBeGreaterThan(0);
    const rows = (await t.service.database.knex('submissions').select('field_names')) as { field_names: unknown }[];
    expect(rows.length).toBe(completedTokens.length);
    for (const row of rows) {
      const names = (typeof row.field_names === 'string' ? JSON.parse(row.field_names) : row.field_names) as string[];
      expect(names).toEqual(expect.arrayContaining(['APPOINTMENT.department', 'DETAILS.name', 'DETAILS.email']));
    }
  });

  it('then no generated value appears in plaintext in any log line or table', async () => {
    await t.service.audit.flush();
    const knex = t.service.database.knex;
    const dump: string[] = [t.logs.join('\n')];
    for (const table of ['audit_events', 'flow_sessions', 'submissions', 'flow_tokens']) {
      const rows = (await knex(table).select('*')) as Record<string, unknown>[];
      dump.push(
        JSON.stringify(rows, (_k, v: unknown) => {
          // bytea columns: pg gives Buffers (seen here as their toJSON form), PGlite Uint8Arrays.
          if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
          const json = v as { type?: unknown; data?: unknown } | null;
          if (json?.type === 'Buffer' && Array.isArray(json.data))
            return Buffer.from(json.data as number[]).toString('latin1');
          return v;
        }),
      );
    }
    const text = dump.join('\n');
    const generated = [...canaries].filter((c) => c.length > 8);
    expect(generated.length).toBeGreaterThan(RUNS);
    expect(generated.filter((c) => text.includes(c))).toEqual([]);
    expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });
});
