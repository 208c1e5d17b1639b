import { inspect } from 'node:util';
import { Secret } from '../../src/config';
import { ERROR_CATALOGUE } from '../../src/errors';
import { statusOf } from '../../src/http';
import { errorSummary, redact } from '../../src/logging';
import * as protocol from '../../src/protocol';
import {
  CannotDecryptError,
  FlowTokenNoLongerValidError,
  isErrorNotification,
  MalformedRequestError,
  parseJsonSafely,
  PayloadTooLargeError,
  ProtocolError,
  RateLimitedError,
  ServiceUnavailableError,
  SignatureMismatchError,
  UnknownFlowError,
  UnsafeJsonError,
  UnsupportedMediaTypeError,
} from '../../src/protocol';

/** Small pure pieces the HTTP tests rely on: the one error → status table, safe JSON, redaction. */

describe('the error → HTTP status table', () => {
  it('when each typed error is mapped, then it gets the status src/protocol/NOTES.md, "Status codes" gives it', () => {
    expect(statusOf(new MalformedRequestError('x'))).toBe(400);
    expect(statusOf(new UnknownFlowError('x'))).toBe(404);
    expect(statusOf(new PayloadTooLargeError(1))).toBe(413);
    expect(statusOf(new UnsupportedMediaTypeError(undefined))).toBe(415);
    expect(statusOf(new CannotDecryptError('x'))).toBe(421);
    expect(statusOf(new FlowTokenNoLongerValidError('expired'))).toBe(427);
    expect(statusOf(new RateLimitedError('global'))).toBe(429);
    expect(statusOf(new SignatureMismatchError('missing'))).toBe(432);
    expect(statusOf(new ServiceUnavailableError('x'))).toBe(503);
  });

  it('when an error is not a protocol error, then it is a 500', () => {
    expect(statusOf(new Error('x'))).toBe(500);
    expect(statusOf('a string')).toBe(500);
    expect(statusOf(undefined)).toBe(500);
  });

  it('when a ProtocolError class exists, then it has its own catalogue code with a status and a meaning', () => {
    const classes = (Object.values(protocol) as unknown[]).filter(
      (v): v is new (arg: unknown) => ProtocolError =>
        typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof ProtocolError,
    );
    expect(classes.length).toBeGreaterThanOrEqual(10);
    const codes = classes.map((cls) => new cls('x').code);
    expect(new Set(codes).size).toBe(classes.length);
    for (const code of codes) {
      expect(ERROR_CATALOGUE[code].status).toBeGreaterThanOrEqual(400);
      expect(ERROR_CATALOGUE[code].meaning.length).toBeGreaterThan(10);
    }
  });

  it('when a token is refused, then every reason has a user message without internal codes', () => {
    for (const reason of [
      'missing',
      'malformed',
      'bad_signature',
      'expired',
      'wrong_flow',
      'unknown',
      'completed',
      'revoked',
    ] as const) {
      const message = new FlowTokenNoLongerValidError(reason).userMessage;
      expect(message.length).toBeGreaterThan(10);
      expect(message).toMatch(/^[A-Za-z ,.']+$/);
    }
  });
});

describe('prototype-poisoning-safe JSON', () => {
  it.each([
    ['a __proto__ key', '{"__proto__":{"x":1}}'],
    ['a nested __proto__ key', '{"a":[{"b":{"__proto__":{}}}]}'],
    ['a constructor.prototype key', '{"constructor":{"prototype":{"x":1}}}'],
    ['nesting deeper than 64', `${'{"a":'.repeat(70)}1${'}'.repeat(70)}`],
  ])('when the text has %s, then it is refused', (_what, text) => {
    expect(() => parseJsonSafely(text)).toThrow(UnsafeJsonError);
  });

  it('when keys merely look similar, then they are allowed', () => {
    expect(parseJsonSafely('{"proto":1,"constructor":"x","prototype":{}}')).toEqual({
      proto: 1,
      constructor: 'x',
      prototype: {},
    });
  });
});

describe('error notifications (src/protocol/NOTES.md, "Error notifications")', () => {
  it.each([[{ error: 'x' }], [{ error_key: 'x' }], [{ error_message: 'x' }], [{ error: 'x', other: 1 }]])(
    'when data is %j, then it is an error notification',
    (data) => expect(isErrorNotification(data)).toBe(true),
  );
  it.each([[{}], [null], [undefined], [[]], ['error'], [{ errors: 'x' }], [Object.create({ error: 'inherited' })]])(
    'when data is %j, then it is not',
    (data) => expect(isErrorNotification(data)).toBe(false),
  );
});

describe('log redaction', () => {
  it('when an object holding secrets and user data is logged, then those values are replaced at any depth', () => {
    const out = JSON.stringify(
      redact({
        flowId: 'f',
        nested: { flow_token: 'T', FlowToken: 'T2', data: { name: 'Ada' }, list: [{ passphrase: 'P' }] },
        'x-hub-signature-256': 'sig',
        authorization: 'Bearer K',
        body: 'raw',
        aes_key: Buffer.from('k'),
      }),
    );
    for (const value of ['"T"', 'T2', 'Ada', '"P"', 'Bearer K', '"raw"']) expect(out).not.toContain(value);
    expect(out).toContain('"flowId":"f"');
  });

  it('when a Secret is printed in any way, then only [secret] appears', () => {
    const secret = new Secret('hunter2-value');
    expect(`${String(secret)} ${JSON.stringify({ secret })} ${inspect({ secret })}`).not.toContain('hunter2');
  });

  it('when developer code throws, then errorSummary keeps class, code and frames but not the message', () => {
    const err = Object.assign(new TypeError('bad value Ada Lovelace'), { code: 'E_BAD' });
    const summary = errorSummary(err);
    expect(summary).toEqual({ name: 'TypeError', code: 'E_BAD', at: expect.any(Array) });
    expect(JSON.stringify(summary)).not.toContain('Ada');
    expect(summary.at[0]).toMatch(/protocol\.test\.ts:\d+/);
    expect(errorSummary('a string with Ada')).toEqual({ name: 'thrown string', at: [] });
  });
});
