import { makeTestKeys, randomSecret, type TestKeys } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';
import { WhatsAppClient } from '../helpers/whatsapp-client';

/**
 * Rotation without downtime (src/ARCHITECTURE.md, rule 13; src/protocol/NOTES.md, "Request signature"
 * app-secret rotation), and development mode without an app secret — through real HTTP.
 */

describe('when a key and an app secret are being rotated', () => {
  let t: TestService;
  let old: TestKeys;
  const oldSecret = randomSecret();
  beforeAll(async () => {
    old = makeTestKeys('old passphrase');
    t = await startTestService({
      env: {
        FLOWS_PREVIOUS_PRIVATE_KEY_FILES: old.privateKeyFile,
        FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE: 'old passphrase',
        META_PREVIOUS_APP_SECRETS: oldSecret,
      },
    });
  });
  afterAll(async () => {
    await t.stop();
    old.cleanup();
  });

  const clientFor = (publicKeyPem: string, appSecret: string | undefined): WhatsAppClient =>
    new WhatsAppClient({ baseUrl: t.baseUrl, flowId: 'book-appointment', publicKeyPem, appSecret });

  it('then a client still holding the previous public key is served, its reply sealed with its own key', async () => {
    const token = await t.issueToken('+14155558001');
    const reply = await clientFor(old.publicKeyPem, t.env.META_APP_SECRET).init(token);
    expect(ok(reply).screen).toBe('APPOINTMENT');
  });

  it('then a request signed with the previous app secret is accepted', async () => {
    const reply = await clientFor(t.keys.publicKeyPem, oldSecret).ping();
    expect(reply.json).toEqual({ version: '3.0', data: { status: 'active' } });
  });

  it('then a key that is neither current nor previous gets 421', async () => {
    const stranger = makeTestKeys();
    try {
      const reply = await clientFor(stranger.publicKeyPem, t.env.META_APP_SECRET).ping();
      expect(reply.status).toBe(421);
      expect(reply.rawBody).toBe('');
    } finally {
      stranger.cleanup();
    }
  });

  it('then a secret that was never configured gets 432', async () => {
    const reply = await clientFor(t.keys.publicKeyPem, randomSecret()).ping();
    expect(reply.status).toBe(432);
  });
});

describe('when META_APP_SECRET is not set (development)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ env: { META_APP_SECRET: undefined } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('then the start warns that signatures are not checked', () => {
    expect(t.logs.some((l) => l.includes('META_APP_SECRET is not set'))).toBe(true);
  });

  it('then unsigned requests are served', async () => {
    const client = t.client('book-appointment', { signed: false });
    expect((await client.ping()).json).toEqual({ version: '3.0', data: { status: 'active' } });
    expect(ok(await client.init(await t.issueToken('+14155558002'))).screen).toBe('APPOINTMENT');
  });
});
