import forge from 'node-forge';
import { createHmac, randomBytes } from 'node:crypto';
import bookAppointment from '../../src/flows/book-appointment';
import { FlowTokenCodec } from '../../src/tokens';
import { tokenIdOf } from '../../src/tokens/token-service';
import misbehaving, { calls, resetMisbehaving } from '../fixtures/flows/misbehaving';
import { makeTestKeys, randomSecret } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';
import { sealRequest, type Envelope, type FlowReply, type WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Every way a request is refused at the edge or by the protocol layer, through real HTTP with the
 * node-forge client: 421 (cannot decrypt), 432 (signature), 427 (flow token), 413, 415, 400, 404.
 * Refusals carry no detail: 421/432/4xx bodies are empty; 427 carries only the encrypted error_msg.
 */

const BODY_LIMIT = 8192;
let t: TestService;
let client: WhatsAppClient;
let appSecret: string;
let phone = 0;

beforeAll(async () => {
  t = await startTestService({
    flows: [bookAppointment, misbehaving],
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) },
  });
  client = t.client('misbehaving');
  appSecret = t.env.META_APP_SECRET as string;
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => resetMisbehaving());

const sign = (body: string | Buffer, secret = appSecret): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const initPayload = (token: string): Record<string, unknown> => ({
  version: '3.0',
  action: 'INIT',
  flow_token: token,
  screen: '',
  data: {},
});

async function freshToken(): Promise<string> {
  return t.issueToken(`+1415556${String(1000 + phone++)}`, 'misbehaving');
}

/** POSTs raw bytes with the given headers (no client-side signing unless asked). */
async function rawPost(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<FlowReply> {
  const res = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers, body });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    rawBody: await res.text(),
    json: undefined,
  };
}

/** Posts an envelope for /flows/misbehaving, signed correctly over exactly these bytes. */
function postEnvelope(envelope: unknown): Promise<FlowReply> {
  const body = JSON.stringify(envelope);
  return client.post(body, undefined);
}

function expectBare(reply: FlowReply, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.rawBody).toBe('');
}

describe('421: the envelope cannot be decrypted', () => {
  let good: Envelope;
  beforeAll(async () => {
    good = sealRequest(t.keys.publicKeyPem, initPayload(await freshToken())).envelope;
  });

  const b64 = (bytes: Buffer): string => bytes.toString('base64');
  const cases: [string, () => Partial<Envelope>][] = [
    ['encrypted_flow_data is not base64', () => ({ encrypted_flow_data: '!!not base64!!' })],
    ['encrypted_aes_key is not base64', () => ({ encrypted_aes_key: `${good.encrypted_aes_key.slice(1)}*` })],
    ['initial_vector is not base64', () => ({ initial_vector: 'AAAAAAAAAAAAAAAAAAAA$A==' })],
    ['initial_vector is URL-safe base64', () => ({ initial_vector: '-_-_-_-_-_-_-_-_-_-_-w==' })],
    ['the IV is 12 bytes', () => ({ initial_vector: b64(randomBytes(12)) })],
    ['the IV is 32 bytes', () => ({ initial_vector: b64(randomBytes(32)) })],
    ['the IV is another 16 bytes', () => ({ initial_vector: b64(randomBytes(16)) })],
    [
      'the GCM tag was tampered with',
      () => {
        const data = Buffer.from(good.encrypted_flow_data, 'base64');
        data[data.length - 1] = (data[data.length - 1] as number) ^ 0x80;
        return { encrypted_flow_data: b64(data) };
      },
    ],
    [
      'the ciphertext was tampered with',
      () => {
        const data = Buffer.from(good.encrypted_flow_data, 'base64');
        data[0] = (data[0] as number) ^ 0x01;
        return { encrypted_flow_data: b64(data) };
      },
    ],
    ['the data is shorter than a tag', () => ({ encrypted_flow_data: b64(randomBytes(10)) })],
    ['the AES key was wrapped for another key pair', () => ({ encrypted_aes_key: wrapForOtherKey() })],
    ['the wrapped key is 255 bytes', () => ({ encrypted_aes_key: b64(randomBytes(255)) })],
    ['the wrapped key is random bytes', () => ({ encrypted_aes_key: b64(randomBytes(256)) })],
    ['the wrapped AES key is 20 bytes long', () => ({ encrypted_aes_key: wrap(forge.random.getBytesSync(20)) })],
    ['the wrapped AES key is 8 bytes long', () => ({ encrypted_aes_key: wrap(forge.random.getBytesSync(8)) })],
  ];

  it.each(cases)('when %s, then 421 with an empty body and no handler runs', async (_what, change) => {
    const reply = await postEnvelope({ ...good, ...change() });
    expectBare(reply, 421);
    expect(calls.init).toBe(0);
  });

  it('when the envelope is sealed with RSA-OAEP SHA-1 (Node default), then 421', async () => {
    const publicKey = forge.pki.publicKeyFromPem(t.keys.publicKeyPem);
    const sealed = sealRequest(t.keys.publicKeyPem, initPayload(await freshToken()));
    const sha1Wrapped = forge.util.encode64(publicKey.encrypt(sealed.aesKey, 'RSA-OAEP'));
    expectBare(await postEnvelope({ ...sealed.envelope, encrypted_aes_key: sha1Wrapped }), 421);
  });

  it('when the same envelope is sent intact, then it decrypts (the cases above differ only where named)', async () => {
    const reply = await client.send(initPayload(await freshToken()));
    expect(ok(reply).screen).toBe('START');
  });

  function wrap(aesKey: string): string {
    const publicKey = forge.pki.publicKeyFromPem(t.keys.publicKeyPem);
    return forge.util.encode64(
      publicKey.encrypt(aesKey, 'RSA-OAEP', { md: forge.md.sha256.create(), mgf1: { md: forge.md.sha256.create() } }),
    );
  }
  function wrapForOtherKey(): string {
    const other = makeTestKeys();
    try {
      return sealRequest(other.publicKeyPem, {}).envelope.encrypted_aes_key;
    } finally {
      other.cleanup();
    }
  }
});

describe('400: the body is not an envelope (refused before any RSA work)', () => {
  const bodies: [string, string][] = [
    ['empty', ''],
    ['truncated JSON', '{"encrypted_flow_data":"'],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a JSON string', '"hello"'],
    ['an object without fields', '{}'],
    ['a missing initial_vector', '{"encrypted_flow_data":"AAAA","encrypted_aes_key":"AAAA"}'],
    ['a missing encrypted_aes_key', '{"encrypted_flow_data":"AAAA","initial_vector":"AAAA"}'],
    ['a missing encrypted_flow_data', '{"encrypted_aes_key":"AAAA","initial_vector":"AAAA"}'],
    ['empty strings', '{"encrypted_flow_data":"","encrypted_aes_key":"","initial_vector":""}'],
    ['numbers for fields', '{"encrypted_flow_data":1,"encrypted_aes_key":2,"initial_vector":3}'],
    [
      'a __proto__ key',
      '{"__proto__":{"polluted":true},"encrypted_flow_data":"A","encrypted_aes_key":"A","initial_vector":"A"}',
    ],
    [
      'a nested __proto__ key',
      '{"encrypted_flow_data":"A","encrypted_aes_key":"A","initial_vector":"A","x":{"__proto__":{"polluted":true}}}',
    ],
    [
      'a constructor.prototype key',
      '{"constructor":{"prototype":{"polluted":true}},"encrypted_flow_data":"A","encrypted_aes_key":"A","initial_vector":"A"}',
    ],
    ['JSON nested 200 deep', `${'['.repeat(200)}${']'.repeat(200)}`],
    ['invalid UTF-8', '\u00ff\u00fe{'],
  ];
  it.each(bodies)('when the body is %s, then 400 with an empty body', async (_what, body) => {
    const reply = await client.post(body, undefined);
    expectBare(reply, 400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('when the decrypted payload carries __proto__, then 400 and no handler runs', async () => {
    const token = await freshToken();
    const payload = `{"version":"3.0","action":"INIT","flow_token":"${token}","data":{"__proto__":{"polluted":true}}}`;
    const reply = await client.send(payload);
    expectBare(reply, 400);
    expect(calls.init).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const payloads: [string, unknown][] = [
    ['not JSON', 'not json'],
    // A ping is answered whatever its version string (Data API 4.0); other requests are not.
    ['version 2.0', { version: '2.0', action: 'INIT', flow_token: 'a.b.c', screen: '', data: {} }],
    ['no version', { action: 'ping' }],
    ['a version that is not a string', { version: 4, action: 'ping' }],
    ['an unknown action', { version: '3.0', action: 'navigate', flow_token: 'a.b.c', screen: 'START', data: {} }],
    ['data_exchange without a screen', { version: '3.0', action: 'data_exchange', flow_token: 'a.b.c', data: {} }],
    ['data that is an array', { version: '3.0', action: 'INIT', flow_token: 'a.b.c', data: [] }],
  ];
  it.each(payloads)('when the decrypted payload is %s, then 400 with an empty body', async (_what, payload) => {
    expectBare(await client.send(payload), 400);
  });
});

describe('432: the signature does not match the raw bytes', () => {
  let body: string;
  beforeAll(async () => {
    body = JSON.stringify(sealRequest(t.keys.publicKeyPem, initPayload(await freshToken())).envelope);
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['without the sha256= prefix', () => sign(body).slice(7)],
    ['sha1= instead of sha256=', () => `sha1=${sign(body).slice(7)}`],
    ['not hex', () => `sha256=${'z'.repeat(64)}`],
    ['one hex digit short', () => sign(body).slice(0, -1)],
    ['one hex digit too long', () => `${sign(body)}0`],
    ['a very long value', () => `sha256=${'a'.repeat(10_000)}`],
    ['made with another secret', () => sign(body, randomSecret())],
    ['made over other bytes', () => sign(`${body} `)],
    ['two signatures joined by a comma', () => `${sign(body)},${sign(body)}`],
  ] as [string, null | string | (() => string)][])(
    'when the header is %s, then 432 with an empty body',
    async (_what, header) => {
      const signature = typeof header === 'function' ? header() : header;
      const reply = await client.post(body, undefined, { signature });
      expectBare(reply, 432);
      expect(calls.init).toBe(0);
    },
  );

  it('when the JSON is re-serialised after signing ("/" escaped as "\\/"), then 432', async () => {
    const escaped = body.replace(/\//g, '\\/');
    expect(escaped).not.toBe(body);
    expectBare(await client.post(escaped, undefined, { signature: sign(body) }), 432);
  });

  it('when the signature covers the escaped bytes that were sent, then it is accepted (raw bytes, A.4)', async () => {
    const sealed = sealRequest(t.keys.publicKeyPem, initPayload(await freshToken()));
    const escaped = JSON.stringify(sealed.envelope).replace(/\//g, '\\/');
    const reply = await client.post(escaped, sealed, { signature: sign(escaped) });
    expect(ok(reply).screen).toBe('START');
  });

  it('when the body is garbage and unsigned, then 432 comes before 400 (no parsing of unauthenticated bytes)', async () => {
    expectBare(await client.post('{garbage', undefined, { signature: null }), 432);
  });

  it('when a ping is unsigned, then it is refused too', async () => {
    const reply = await client.send({ version: '3.0', action: 'ping' }, { signature: null });
    expectBare(reply, 432);
  });
});

describe('427: the flow token is no longer valid', () => {
  async function expect427(token: string | undefined, message: string, flowClient = client): Promise<void> {
    const payload = { version: '3.0', action: 'INIT', screen: '', data: {}, ...(token ? { flow_token: token } : {}) };
    const reply = await flowClient.send(payload);
    expect(reply.status).toBe(427);
    // Encrypted like a normal response (src/protocol/NOTES.md, "Status codes"), carrying only the user-facing message.
    expect(reply.contentType).toMatch(/^text\/plain/);
    expect(reply.json).toEqual({ error_msg: message });
    expect(calls.init).toBe(0);
  }
  const invalid = 'This form link is not valid. Please ask for a new one.';

  it('when the token is missing, then 427', () => expect427(undefined, invalid));
  it('when the token is not a JWT, then 427', () => expect427('hello', invalid));
  it('when the token is signed with another secret, then 427', async () => {
    const forged = await new FlowTokenCodec([randomSecret()]).issue('misbehaving', 'subject', 600);
    await expect427(forged.token, invalid);
  });
  it('when the token payload was altered, then 427', async () => {
    const [h, p, s] = (await freshToken()).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    await expect427(`${h}.${altered}.${s}`, invalid);
  });
  it('when the token uses alg "none", then 427', async () => {
    const [, p] = (await freshToken()).split('.') as [string, string, string];
    const header = Buffer.from('{"alg":"none"}').toString('base64url');
    await expect427(`${header}.${p}.`, invalid);
  });
  it('when the token was issued for another flow, then 427', async () => {
    const token = await t.issueToken('+14155569999', 'book-appointment');
    await expect427(token, invalid);
    // …and it still works where it belongs.
    expect(ok(await t.client('book-appointment').init(token)).screen).toBe('APPOINTMENT');
  });
  it('when the token has a valid signature but was never issued (no row), then 427', async () => {
    const codec = t.service.codec;
    const orphan = await codec.issue('misbehaving', 'subject', 600);
    await expect427(orphan.token, invalid);
  });
  it('when the token expired (signature exp), then 427 with the expiry message', async () => {
    const expired = await t.service.codec.issue('misbehaving', 'subject', 60, Date.now() - 3600_000);
    await expect427(expired.token, 'This form has expired. Please ask for a new one.');
  });
  it('when the token row expired (database), then 427 with the expiry message', async () => {
    const token = await freshToken();
    await t.service.database
      .knex('flow_tokens')
      .where({ id: tokenIdOf(token) })
      .update({ expires_at: new Date(Date.now() - 1000) });
    await expect427(token, 'This form has expired. Please ask for a new one.');
  });
  it('when the token was revoked, then 427 with the revocation message', async () => {
    const token = await freshToken();
    ok(await client.init(token));
    resetMisbehaving();
    expect(await t.service.tokens.revoke({ tokenOrId: token }, { via: 'api' })).toBe(1);
    await expect427(token, 'This form is no longer available.');
  });
  it('when a completed token is replayed, then 427 with the completion message', async () => {
    const token = await freshToken();
    ok(await client.init(token));
    ok(await client.exchange(token, 'START', { name: 'Ada', behaviour: 'ok' }));
    ok(await client.exchange(token, 'MIDDLE', { step: 'finish' }));
    resetMisbehaving();
    await expect427(token, 'You have already completed this form.');
    const again = await client.exchange(token, 'MIDDLE', { step: 'finish' });
    expect(again.status).toBe(427);
    expect(calls.middle).toBe(0);
  });
});

describe('when requests for one token race', () => {
  it('then a completion submitted twice at once completes exactly once; the other gets 427', async () => {
    const token = await freshToken();
    ok(await client.init(token));
    ok(await client.exchange(token, 'START', { name: 'Ada', behaviour: 'ok' }));
    const replies = await Promise.all([1, 2, 3].map(() => client.exchange(token, 'MIDDLE', { step: 'finish' })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 427, 427]);
    expect(calls.middle).toBe(1);
    const rows = await t.service.database.knex('submissions').where({ token_id: tokenIdOf(token) });
    expect(rows).toHaveLength(1);
  });

  it('then parallel data_exchange requests are served one after another, all answered', async () => {
    const token = await freshToken();
    ok(await client.init(token));
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => client.exchange(token, 'START', { name: 'Ada', behaviour: 'show_error' })),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(calls.start).toBe(5);
  });
});

describe('413, 415, 404 at the edge', () => {
  it('when the body exceeds BODY_LIMIT_BYTES, then 413 with an empty body', async () => {
    const body = JSON.stringify({
      encrypted_flow_data: 'A'.repeat(BODY_LIMIT),
      encrypted_aes_key: 'A',
      initial_vector: 'A',
    });
    const reply = await client.post(body, undefined);
    expectBare(reply, 413);
  });

  it('when an oversized body is streamed without Content-Length, then 413 too', async () => {
    const chunk = new TextEncoder().encode('A'.repeat(4096));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${t.baseUrl}/flows/misbehaving`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign('x') },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.text()).toBe('');
  });

  it('when a body just under the limit arrives, then it is read (and refused for what it is)', async () => {
    const body = JSON.stringify({
      encrypted_flow_data: 'A'.repeat(BODY_LIMIT - 200),
      encrypted_aes_key: 'A',
      initial_vector: 'A',
    });
    expect((await client.post(body, undefined)).status).toBe(421);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/jsonp', { 'content-type': 'application/jsonp' }],
    ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['no content type at all', {}],
  ] as [string, Record<string, string>][])(
    'when the content type is %s, then 415 with an empty body',
    async (_w, headers) => {
      const sealed = sealRequest(t.keys.publicKeyPem, initPayload(await freshToken()));
      const body = JSON.stringify(sealed.envelope);
      const reply = await rawPost('/flows/misbehaving', body, { ...headers, 'x-hub-signature-256': sign(body) });
      expectBare(reply, 415);
      expect(calls.init).toBe(0);
    },
  );

  it('when the content type is "application/json; charset=utf-8" in any case, then it is accepted', async () => {
    const sealed = sealRequest(t.keys.publicKeyPem, initPayload(await freshToken()));
    const reply = await client.post(JSON.stringify(sealed.envelope), sealed, {
      headers: { 'content-type': 'Application/JSON; charset=UTF-8' },
    });
    expect(ok(reply).screen).toBe('START');
  });

  it('when the content encoding is not supported, then 415 with an empty body', async () => {
    const body = JSON.stringify(sealRequest(t.keys.publicKeyPem, initPayload(await freshToken())).envelope);
    const reply = await rawPost('/flows/misbehaving', body, {
      'content-type': 'application/json',
      'content-encoding': 'x-unknown',
      'x-hub-signature-256': sign(body),
    });
    expectBare(reply, 415);
  });

  it('when a gzip body is malformed, then 400 with an empty body', async () => {
    const reply = await rawPost('/flows/misbehaving', 'not gzip', {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expectBare(reply, 400);
  });

  it('when the flow is not registered, then 404 with an empty body, before the signature check', async () => {
    const sealed = sealRequest(t.keys.publicKeyPem, { version: '3.0', action: 'ping' });
    const body = JSON.stringify(sealed.envelope);
    for (const path of ['/flows/nope', '/flows/MISBEHAVING', '/flows/a%2Fb', `/flows/${'x'.repeat(300)}`]) {
      expectBare(
        await rawPost(path, body, { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }),
        404,
      );
    }
  });

  it('when another path or method is used, then a generic JSON 404', async () => {
    const get = await fetch(`${t.baseUrl}/flows/misbehaving`);
    expect(get.status).toBe(404);
    expect(await get.json()).toEqual({ error: 'not found' });
    const other = await rawPost('/flows', '{}', { 'content-type': 'application/json' });
    expect(other.status).toBe(404);
  });

  it('when any refusal is answered, then no framework fingerprint is sent', async () => {
    const res = await fetch(`${t.baseUrl}/flows/nope`, { method: 'POST', body: '{}' });
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('when the same client sends a normal request after all of the above', () => {
  it('then the service still answers (no state was corrupted by refusals)', async () => {
    const token = await freshToken();
    expect(ok(await client.init(token)).screen).toBe('START');
    expect(ok(await client.exchange(token, 'START', { name: 'Ada', behaviour: 'ok' })).screen).toBe('MIDDLE');
  });
});
