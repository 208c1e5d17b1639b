import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineFlow, defineScreen, next, showError } from '../../src/flow-api';
import submitClaim from '../../src/flows/submit-claim';
import { claimData } from '../../src/flows/submit-claim/screens/claim';
import { documents } from '../../src/flows/submit-claim/screens/documents';
import { encryptMediaFile, hostAllowed, MediaError, MEDIA_ERRORS, type MediaErrorCode } from '../../src/media';
import { startTestService, type TestService } from '../helpers/test-service';
import { ok } from '../helpers/walk';
import type { WhatsAppClient } from '../helpers/whatsapp-client';

jest.setTimeout(120_000);

/** A CDN stand-in that can misbehave: files by path, plus slow, chunked, redirecting and failing routes. */
const files = new Map<string, Buffer>();
const hits: string[] = [];
let cdn: Server;
let port = 0;
const slowSockets = new Set<NodeJS.Timeout>();

function startCdn(): Promise<void> {
  cdn = createServer((req, res) => {
    const url = req.url ?? '';
    hits.push(url);
    const [, route, key] = url.split('/');
    const body = files.get(key ?? '');
    if (route === 'file' && body) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    if (route === 'chunked' && body) {
      res.writeHead(200); // no Content-Length: the size is only known while reading
      res.write(body.subarray(0, 100));
      return void res.end(body.subarray(100));
    }
    if (route === 'slow' && body) {
      res.writeHead(200, { 'content-length': body.length });
      let at = 0;
      const timer = setInterval(() => {
        if (at >= body.length || res.destroyed) {
          clearInterval(timer);
          slowSockets.delete(timer);
          return void res.end();
        }
        res.write(body.subarray(at, at + 1));
        at += 1;
      }, 200);
      slowSockets.add(timer);
      return;
    }
    if (route === 'same') return void res.writeHead(302, { location: `/file/${key}` }).end();
    if (route === 'other') return void res.writeHead(302, { location: `http://localhost:${port}/file/${key}` }).end();
    if (route === 'fail') return void res.writeHead(500).end();
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    cdn.listen(0, '127.0.0.1', () => {
      port = (cdn.address() as AddressInfo).port;
      resolve();
    }),
  );
}

interface Options {
  route?: string;
  tamper?: 'hash' | 'mac' | 'ciphertext' | 'plaintext';
  url?: string;
  name?: string;
}

/** A media object as WhatsApp sends it, for `plain`, served by the stand-in (possibly tampered with). */
function mediaObject(plain: Buffer, o: Options = {}) {
  const { cdnFile, keys } = encryptMediaFile(plain);
  let served = cdnFile;
  let encryptedHash = keys.encryptedHash;
  let plaintextHash = keys.plaintextHash;
  if (o.tamper === 'hash') encryptedHash = randomBytes(32);
  if (o.tamper === 'plaintext')
    plaintextHash = createHash('sha256')
      .update(Buffer.concat([plain, Buffer.from('x')]))
      .digest();
  if (o.tamper === 'ciphertext' || o.tamper === 'mac') {
    // The file changes in transit and its hash with it: only the MAC can tell.
    served = Buffer.from(cdnFile);
    const at = o.tamper === 'mac' ? served.length - 1 : 3;
    served[at] = (served[at] as number) ^ 0x40;
    encryptedHash = createHash('sha256').update(served).digest();
  }
  const key = randomBytes(8).toString('hex');
  files.set(key, served);
  return {
    media_id: randomUUID(),
    cdn_url: o.url ?? `http://127.0.0.1:${port}/${o.route ?? 'file'}/${key}`,
    file_name: o.name ?? 'receipt.jpg',
    encryption_metadata: {
      encrypted_hash: encryptedHash.toString('base64'),
      iv: keys.iv.toString('base64'),
      encryption_key: keys.encryptionKey.toString('base64'),
      hmac_key: keys.hmacKey.toString('base64'),
      plaintext_hash: plaintextHash.toString('base64'),
    },
  };
}

const jpeg = (size = 600) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)]);

/** A handler that tries to fetch what the request did not carry: an altered object, or a made-up one. */
const sneaky = defineFlow({
  id: 'sneaky-claim',
  flowJson: submitClaim.flowJson,
  onInit: () => next('CLAIM', claimData()),
  screens: [
    defineScreen<{ receipts: Record<string, unknown>[] }>('CLAIM', {
      async onDataExchange({ data }, ctx) {
        const codes: string[] = [];
        const first = data.receipts[0] as Record<string, unknown>;
        for (const item of [{ ...first, cdn_url: `http://127.0.0.1:${port}/file/elsewhere` }, mediaObject(jpeg())]) {
          try {
            await ctx.media.fetch(item);
            codes.push('fetched');
          } catch (err) {
            codes.push(err instanceof MediaError ? err.code : 'other');
          }
        }
        return showError(codes.join(','));
      },
    }),
    documents,
  ],
});

let t: TestService;
let client: WhatsAppClient;
beforeAll(async () => {
  await startCdn();
  t = await startTestService({
    flows: [submitClaim, sneaky],
    env: { MEDIA_MAX_FILE_BYTES: '4096', MEDIA_CONNECT_TIMEOUT_MS: '500', MEDIA_DOWNLOAD_TIMEOUT_MS: '1000' },
  });
  client = t.client('submit-claim');
});
afterAll(async () => {
  slowSockets.forEach(clearInterval);
  await t.stop();
  await new Promise<void>((resolve) => {
    cdn.close(() => resolve());
    cdn.closeAllConnections();
  });
});

async function claim(receipts: unknown[], token?: string) {
  const flowToken =
    token ?? (await t.issueToken(`+1415555${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`));
  ok(await client.init(flowToken));
  const reply = ok(await client.exchange(flowToken, 'CLAIM', { category: 'travel', amount: '10', receipts }));
  return { reply, token: flowToken };
}

async function lastMediaEvent(): Promise<{ outcome: string; detail: Record<string, unknown> }> {
  await t.service.audit.flush();
  const row = (await t.service.database
    .knex('audit_events')
    .where({ action: 'media_fetch' })
    .orderBy([{ column: 'chain' }, { column: 'seq' }])
    .select('outcome', 'detail', 'occurred_at')) as {
    outcome: string;
    detail: Record<string, unknown>;
    occurred_at: Date;
  }[];
  row.sort((a, b) => new Date(a.occurred_at).getTime() - new Date(b.occurred_at).getTime());
  return row[row.length - 1] as { outcome: string; detail: Record<string, unknown> };
}

async function expectRefused(reply: Record<string, unknown>, code: MediaErrorCode): Promise<void> {
  expect(reply.screen).toBe('CLAIM');
  expect((reply.data as Record<string, unknown>).error_message).toBe(MEDIA_ERRORS[code].userMessage);
  const event = await lastMediaEvent();
  expect(event.outcome).toBe('media_refused');
  expect(event.detail).toMatchObject({ error: code, field: 'receipts' });
}

describe('when a handler fetches picker files over real HTTP', () => {
  it('then a good file is downloaded, verified, stored and the next screen shown', async () => {
    const { reply } = await claim([mediaObject(jpeg())]);
    expect(reply.screen).toBe('DOCUMENTS');
    const event = await lastMediaEvent();
    expect(event.outcome).toBe('media_stored');
    expect(event.detail).toMatchObject({ field: 'receipts', content_type: 'image/jpeg', bytes: 600 });
    expect(JSON.stringify(event)).not.toContain('receipt.jpg');
  });

  it.each([
    ['hash', 'media_hash_mismatch'],
    ['ciphertext', 'media_hmac_mismatch'],
    ['mac', 'media_hmac_mismatch'],
    ['plaintext', 'media_plaintext_mismatch'],
  ] as const)('then a file with a tampered %s is refused (%s), nothing stored', async (tamper, code) => {
    const before = await t.service.database.knex('media_files').count('* as n').first();
    const { reply } = await claim([mediaObject(jpeg(), { tamper })]);
    await expectRefused(reply, code);
    expect(await t.service.database.knex('media_files').count('* as n').first()).toEqual(before);
  });

  it('then one bad file among good ones fails the whole picker value', async () => {
    const { reply } = await claim([mediaObject(jpeg()), mediaObject(jpeg(), { tamper: 'mac' })]);
    await expectRefused(reply, 'media_hmac_mismatch');
  });

  it('then an oversized file is cut off, whether it declares its length or not', async () => {
    for (const route of ['file', 'chunked']) {
      const { reply } = await claim([mediaObject(jpeg(8192), { route })]);
      await expectRefused(reply, 'media_too_large');
    }
  });

  it('then a slow download is cut off at MEDIA_DOWNLOAD_TIMEOUT_MS, well inside WhatsApp’s 10 s', async () => {
    const started = Date.now();
    const { reply } = await claim([mediaObject(jpeg(), { route: 'slow' })]);
    expect(Date.now() - started).toBeLessThan(5000);
    await expectRefused(reply, 'media_timeout');
  });

  it('then a host off the allow-list is refused before any connection', async () => {
    const { reply } = await claim([mediaObject(jpeg(), { url: 'https://cdn.example.org/v/abc' })]);
    await expectRefused(reply, 'media_host_not_allowed');
    const { reply: second } = await claim([mediaObject(jpeg(), { url: 'https://mmg.whatsapp.net.example.org/v/x' })]);
    await expectRefused(second, 'media_host_not_allowed');
  });

  it('then a redirect to another host is refused, one within the same host is followed', async () => {
    const hitsBefore = hits.length;
    const { reply } = await claim([mediaObject(jpeg(), { route: 'other' })]);
    await expectRefused(reply, 'media_redirect_refused');
    expect(hits.slice(hitsBefore).every((h) => h.startsWith('/other/'))).toBe(true);
    const { reply: same } = await claim([mediaObject(jpeg(), { route: 'same' })]);
    expect(same.screen).toBe('DOCUMENTS');
  });

  it('then a CDN error is a typed refusal, not a 5xx', async () => {
    const { reply } = await claim([mediaObject(jpeg(), { route: 'fail' })]);
    await expectRefused(reply, 'media_download_failed');
  });

  it('then a malformed media object or too many files never reach the handler', async () => {
    const bad = mediaObject(jpeg()) as Record<string, unknown>;
    delete (bad.encryption_metadata as Record<string, unknown>).hmac_key;
    const hitsBefore = hits.length;
    const { reply } = await claim([bad]);
    expect(reply.screen).toBe('CLAIM');
    expect((reply.data as Record<string, unknown>).error_message).toMatch(/Please check/);
    const four = [1, 2, 3, 4].map(() => mediaObject(jpeg()));
    const { reply: tooMany } = await claim(four);
    expect(tooMany.screen).toBe('CLAIM');
    expect((tooMany.data as Record<string, unknown>).error_message).toMatch(/Please check/);
    expect(hits.length).toBe(hitsBefore);
  });

  it("then a document whose content is not of the picker's allowed types is refused", async () => {
    const { token } = await claim([mediaObject(jpeg())]);
    const text = mediaObject(Buffer.from('just some text\n'), { name: 'invoice.pdf' });
    const reply = ok(await client.exchange(token, 'DOCUMENTS', { documents: [text] }));
    expect(reply.screen).toBe('DOCUMENTS');
    expect((reply.data as Record<string, unknown>).error_message).toBe(MEDIA_ERRORS.media_type_not_allowed.userMessage);
    expect((await lastMediaEvent()).detail).toMatchObject({ error: 'media_type_not_allowed', field: 'documents' });
  });

  it('then a retried request returns the stored file instead of downloading it again', async () => {
    const item = mediaObject(jpeg());
    const { token } = await claim([item]);
    const hitsBefore = hits.length;
    const again = ok(await client.exchange(token, 'CLAIM', { category: 'travel', amount: '10', receipts: [item] }));
    expect(again.screen).toBe('DOCUMENTS');
    expect(hits.length).toBe(hitsBefore);
  });
});

describe('when a handler asks for a file its request did not carry', () => {
  it('then it is refused without a download (no fetching of URLs a handler makes up)', async () => {
    const token = await t.issueToken('+14155559999', 'sneaky-claim');
    const sneakyClient = t.client('sneaky-claim');
    ok(await sneakyClient.init(token));
    const hitsBefore = hits.length;
    const reply = ok(
      await sneakyClient.exchange(token, 'CLAIM', { category: 'travel', amount: '1', receipts: [mediaObject(jpeg())] }),
    );
    expect((reply.data as Record<string, unknown>).error_message).toBe('media_not_in_request,media_not_in_request');
    expect(hits.length).toBe(hitsBefore);
  });
});

describe('when the download policy decides on a URL', () => {
  const policy = { allowedHosts: ['mmg.whatsapp.net', '*.cdn.whatsapp.net'], allowLoopback: false };
  it('then production takes https on listed hosts only, never loopback or plain http', () => {
    const allowed = (u: string, p = policy) => hostAllowed(new URL(u), p);
    expect(allowed('https://mmg.whatsapp.net/v/x')).toBe(true);
    expect(allowed('https://a.cdn.whatsapp.net/v/x')).toBe(true);
    expect(allowed('https://cdn.whatsapp.net/v/x')).toBe(false);
    expect(allowed('http://mmg.whatsapp.net/v/x')).toBe(false);
    expect(allowed('https://mmg.whatsapp.net.evil.org/v/x')).toBe(false);
    expect(allowed('https://user:pw@mmg.whatsapp.net/v/x')).toBe(false);
    expect(allowed('http://127.0.0.1:9000/v/x')).toBe(false);
    expect(allowed('http://127.0.0.1:9000/v/x', { ...policy, allowLoopback: true })).toBe(true);
    expect(allowed('http://10.0.0.1/v/x', { ...policy, allowLoopback: true })).toBe(false);
  });
});
