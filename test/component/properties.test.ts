import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import bookAppointment from '../../src/flows/book-appointment';
import misbehaving from '../fixtures/flows/misbehaving';
import { rawRequest } from '../helpers/raw-http';
import { startTestService, type TestService } from '../helpers/test-service';
import { sealRequest, type WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Property tests (fast-check, bounded runs): whatever bytes, JSON or header values arrive, the
 * service answers with a 2xx/4xx — never a 5xx — and keeps serving. Refusals carry no body detail.
 * Runs are kept small (≈200 per property) so the whole file stays well under a minute.
 */

/** PROPERTY_RUNS=2000 npm test -- properties: a longer hunt; the default keeps the suite fast. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
// A property is ~200 requests; on a heavily shared machine that can exceed the default 60 s.
jest.setTimeout(180_000);
let t: TestService;
let client: WhatsAppClient;
let appSecret: string;
let token: string;
let statuses: Map<number, number>;

beforeAll(async () => {
  t = await startTestService({ flows: [bookAppointment, misbehaving], env: { BODY_LIMIT_BYTES: '16384' } });
  client = t.client('book-appointment');
  appSecret = t.env.META_APP_SECRET as string;
  token = await t.issueToken('+14155557000', 'book-appointment', 3600);
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => {
  statuses = new Map();
});
afterEach(async () => {
  // The process is alive and still serves real requests after every property.
  expect((await client.ping()).json).toEqual({ version: '3.0', data: { status: 'active' } });
});

const sign = (body: Buffer | string): string => `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;

function record(status: number): void {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

/** The one invariant: answered, not 5xx; a refusal other than 427 has an empty body. */
function expectHandled(status: number, body: string | Buffer, allowed: readonly number[]): void {
  record(status);
  if (!allowed.includes(status)) throw new Error(`unexpected status ${status}: ${String(body).slice(0, 200)}`);
  if (status >= 400 && status !== 427 && status !== 404) expect(body.length).toBe(0);
}

const REFUSALS = [400, 404, 413, 415, 421, 427, 432] as const;

describe('when the body is arbitrary bytes', () => {
  it('then signed or not, the answer is a 4xx refusal, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, signed) => {
        const body = Buffer.from(bytes);
        const reply = await client.post(body, undefined, signed ? {} : { signature: null });
        expectHandled(reply.status, reply.rawBody, REFUSALS);
      }),
      { numRuns: RUNS },
    );
    expect(statuses.has(432)).toBe(true);
    expect(statuses.has(400)).toBe(true);
  });
});

describe('when the envelope fields hold arbitrary JSON values', () => {
  it('then a signed envelope of any shape is refused with 400 or 421', async () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.base64String({ maxLength: 400 }), fc.string());
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { encrypted_flow_data: field, encrypted_aes_key: field, initial_vector: field, extra: fc.jsonValue() },
          { requiredKeys: [] },
        ),
        async (envelope) => {
          const reply = await client.post(JSON.stringify(envelope), undefined);
          expectHandled(reply.status, reply.rawBody, [400, 421]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('then a real envelope with one field replaced by arbitrary base64 is refused with 421', async () => {
    const sealed = sealRequest(t.keys.publicKeyPem, { version: '3.0', action: 'ping' });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('encrypted_flow_data', 'encrypted_aes_key', 'initial_vector'),
        fc.base64String({ minLength: 4, maxLength: 512 }),
        async (name, value) => {
          fc.pre(value !== sealed.envelope[name]);
          const reply = await client.post(JSON.stringify({ ...sealed.envelope, [name]: value }), undefined);
          expectHandled(reply.status, reply.rawBody, [421]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('when the decrypted payload is arbitrary (correctly encrypted and signed)', () => {
  const screens = fc.constantFrom('APPOINTMENT', 'DETAILS', 'SUMMARY', '', 'SUCCESS', '__proto__', 'constructor');
  const actions = fc.constantFrom('ping', 'INIT', 'BACK', 'data_exchange', 'navigate', 'complete', '');
  const tokens = fc.constantFrom<string | undefined>(undefined, '', 'a.b.c', 'not a token');
  const data = fc.oneof(
    fc.dictionary(
      fc.constantFrom(
        'trigger',
        'date',
        'time',
        'department',
        'location',
        'name',
        'email',
        'phone',
        'notes',
        'consent',
        'error',
        'error_message',
        'error_key',
      ),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('date_selected', 'appointment_chosen', '2030-01-01', true),
      ),
    ),
    fc.jsonValue({ maxDepth: 3 }),
  );

  it('then with any token and any data the answer is 200, 400 or 427 — never a 5xx', async () => {
    // Mostly well-formed requests with a real token (one whose session saw INIT, one that never
    // did), so most cases get past the protocol layer into validation and the example's handlers.
    const shown = await t.issueToken('+14155557001', 'book-appointment', 3600);
    expect((await client.init(shown)).status).toBe(200);
    const weighted = <T>(likely: fc.Arbitrary<T>, rare: fc.Arbitrary<T>): fc.Arbitrary<T> =>
      fc.oneof({ arbitrary: likely, weight: 6 }, { arbitrary: rare, weight: 1 });
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            version: weighted(fc.constant<unknown>('3.0'), fc.constantFrom<unknown>('2.0', 3, null)),
            action: weighted(fc.constantFrom('INIT', 'BACK', 'data_exchange'), actions),
            screen: weighted(screens, fc.oneof(fc.string(), fc.constant(null))),
            data,
            flow_token: weighted(fc.constantFrom('SHOWN', 'FRESH'), tokens),
          },
          { requiredKeys: ['version', 'action'] },
        ),
        async (payload) => {
          const real = { SHOWN: shown, FRESH: token }[String(payload.flow_token)];
          const reply = await client.send(real ? { ...payload, flow_token: real } : payload);
          expectHandled(reply.status, reply.rawBody, [200, 400, 427]);
          if (reply.status === 200) expect(reply.json).toBeDefined();
        },
      ),
      { numRuns: RUNS },
    );
    expect(statuses.get(200)).toBeGreaterThan(0);
  });

  it('then arbitrary JSON text (not only objects) as plaintext is refused with 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ unit: 'binary' })), async (text) => {
        fc.pre(!/"action"/.test(text));
        const reply = await client.send(text);
        expectHandled(reply.status, reply.rawBody, [400]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('when the headers and the path hold arbitrary bytes', () => {
  // Any byte except CR and LF (which would end the header line): NUL, controls, high bytes.
  const headerBytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b.filter((x) => x !== 13 && x !== 10)));

  it('then any signature, content type and encoding header gets a refusal, never a 5xx or a hang', async () => {
    const sealed = sealRequest(t.keys.publicKeyPem, { version: '3.0', action: 'ping' });
    const body = Buffer.from(JSON.stringify(sealed.envelope));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          signature: fc.oneof(headerBytes, fc.constant(Buffer.from(sign(body)))),
          contentType: headerBytes,
          encoding: fc.option(headerBytes),
        }),
        fc.boolean(),
        async ({ signature, contentType, encoding }, jsonType) => {
          const headers: [string, string | Buffer][] = [
            ['Content-Type', jsonType ? 'application/json' : contentType],
            ['X-Hub-Signature-256', signature],
          ];
          if (encoding) headers.push(['Content-Encoding', encoding]);
          const reply = await rawRequest(t.baseUrl, { path: '/flows/book-appointment', headers, body });
          expectHandled(reply.status, reply.body, [200, 400, 415, 432]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('then any flow id in the path gets 404 (or 400 from the HTTP parser), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.webSegment(), fc.string({ unit: 'binary', maxLength: 40 }), async (segment, text) => {
        const encoded = `${segment}${encodeURIComponent(text)}`;
        fc.pre(encoded !== 'book-appointment' && encoded !== 'misbehaving');
        const reply = await rawRequest(t.baseUrl, {
          path: `/flows/${encoded}`,
          headers: [['Content-Type', 'application/json']],
          body: Buffer.from('{}'),
        });
        record(reply.status);
        expect([400, 404]).toContain(reply.status);
      }),
      { numRuns: RUNS },
    );
  });
});
