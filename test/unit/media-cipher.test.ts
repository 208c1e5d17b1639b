import { createHash, createHmac, randomBytes } from 'node:crypto';
import Ajv from 'ajv';
import fc from 'fast-check';
import {
  decryptMediaFile,
  detectContentType,
  encryptMediaFile,
  MEDIA_OBJECT_SCHEMA,
  MediaError,
  pickerLimitsOf,
  pickerValueSchema,
  type MediaKeys,
} from '../../src/media';
import { MEDIA_VECTOR as V } from '../fixtures/media-vector';

const b64 = (s: string) => Buffer.from(s, 'base64');
const vectorKeys: MediaKeys = {
  encryptedHash: b64(V.encryptedHash),
  iv: b64(V.iv),
  encryptionKey: b64(V.encryptionKey),
  hmacKey: b64(V.hmacKey),
  plaintextHash: b64(V.plaintextHash),
};
const cdnFile = Buffer.from(V.cdnFileHex, 'hex');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof MediaError ? err.code : `not a MediaError: ${String(err)}`;
  }
}

describe("when a picker file is checked and decrypted with Meta's algorithm", () => {
  it('then the published vector decrypts to its 435-byte JPEG', () => {
    const plain = decryptMediaFile(cdnFile, vectorKeys);
    expect(plain.toString('hex')).toBe(V.plaintextHex);
    expect(detectContentType(plain, 'IMG.jpg')).toBe('image/jpeg');
  });

  it('then the MAC covers iv ‖ ciphertext (the vector says so; ciphertext alone does not match)', () => {
    const ciphertext = cdnFile.subarray(0, cdnFile.length - 10);
    const withIv = createHmac('sha256', vectorKeys.hmacKey).update(vectorKeys.iv).update(ciphertext).digest();
    const withoutIv = createHmac('sha256', vectorKeys.hmacKey).update(ciphertext).digest();
    expect(withIv.subarray(0, 10).toString('hex')).toBe(V.mac10Hex);
    expect(withoutIv.subarray(0, 10).toString('hex')).toBe(V.macWithoutIvHex);
    expect(createHash('sha256').update(cdnFile).digest('base64')).toBe(V.encryptedHash);
  });

  it("then encrypting the vector's plaintext with its keys and IV gives the vector's CDN file byte for byte", () => {
    const plain = Buffer.from(V.plaintextHex, 'hex');
    const built = encryptMediaFile(plain, {
      iv: vectorKeys.iv,
      encryptionKey: vectorKeys.encryptionKey,
      hmacKey: vectorKeys.hmacKey,
    });
    expect(built.cdnFile.toString('hex')).toBe(V.cdnFileHex);
    expect(built.keys.encryptedHash.toString('base64')).toBe(V.encryptedHash);
    expect(built.keys.plaintextHash.toString('base64')).toBe(V.plaintextHash);
  });

  it('then a file built with fresh keys round-trips, for sizes on and off the block boundary', () => {
    for (const size of [0, 1, 15, 16, 17, 4096]) {
      const plain = randomBytes(size);
      const { cdnFile: file, keys } = encryptMediaFile(plain);
      expect(decryptMediaFile(file, keys).equals(plain)).toBe(true);
    }
  });

  it('then a changed byte anywhere, a wrong hash, MAC, key or plaintext hash is refused with its own code', () => {
    const flipped = (buf: Buffer, at: number) => {
      const copy = Buffer.from(buf);
      copy[at] = copy[at] ^ 1;
      return copy;
    };
    // The whole-file hash is checked first: any changed byte fails there.
    expect(codeOf(() => decryptMediaFile(flipped(cdnFile, 5), vectorKeys))).toBe('media_hash_mismatch');
    expect(codeOf(() => decryptMediaFile(cdnFile.subarray(0, 400), vectorKeys))).toBe('media_hash_mismatch');
    // A CDN that rewrites the file and its hash together (the hash is in the same message) still fails the MAC.
    const tamperedCipher = flipped(cdnFile, 100);
    const rehashed = { ...vectorKeys, encryptedHash: createHash('sha256').update(tamperedCipher).digest() };
    expect(codeOf(() => decryptMediaFile(tamperedCipher, rehashed))).toBe('media_hmac_mismatch');
    const tamperedMac = flipped(cdnFile, cdnFile.length - 1);
    expect(
      codeOf(() =>
        decryptMediaFile(tamperedMac, {
          ...vectorKeys,
          encryptedHash: createHash('sha256').update(tamperedMac).digest(),
        }),
      ),
    ).toBe('media_hmac_mismatch');
    expect(codeOf(() => decryptMediaFile(cdnFile, { ...vectorKeys, hmacKey: randomBytes(32) }))).toBe(
      'media_hmac_mismatch',
    );
    // Right MAC, wrong AES key: the padding breaks or the plaintext hash differs.
    expect(['media_decrypt_failed', 'media_plaintext_mismatch']).toContain(
      codeOf(() => decryptMediaFile(cdnFile, { ...vectorKeys, encryptionKey: randomBytes(32) })),
    );
    expect(codeOf(() => decryptMediaFile(cdnFile, { ...vectorKeys, plaintextHash: randomBytes(32) }))).toBe(
      'media_plaintext_mismatch',
    );
  });

  it('then a ciphertext with bad padding under a valid MAC is media_decrypt_failed, never a half-decrypted file', () => {
    const keys = { iv: randomBytes(16), encryptionKey: randomBytes(32), hmacKey: randomBytes(32) };
    const junk = randomBytes(32); // random blocks: the last one's padding is almost never valid
    const mac = createHmac('sha256', keys.hmacKey).update(keys.iv).update(junk).digest().subarray(0, 10);
    const file = Buffer.concat([junk, mac]);
    const full: MediaKeys = {
      ...keys,
      encryptedHash: createHash('sha256').update(file).digest(),
      plaintextHash: randomBytes(32),
    };
    expect(['media_decrypt_failed', 'media_plaintext_mismatch']).toContain(codeOf(() => decryptMediaFile(file, full)));
  });
});

describe('when a media object is validated against the strict schema', () => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  const good = {
    media_id: '790aba14-5f4a-4dbd-aa9e-0d75401da14b',
    cdn_url: 'https://mmg.whatsapp.net/v/t62.7118-24/abc?ccb=11-4&oh=01_Q5',
    file_name: 'IMG_5237.jpg',
    encryption_metadata: {
      encrypted_hash: V.encryptedHash,
      iv: V.iv,
      encryption_key: V.encryptionKey,
      hmac_key: V.hmacKey,
      plaintext_hash: V.plaintextHash,
    },
  };
  const validate = ajv.compile(MEDIA_OBJECT_SCHEMA);

  it("then Meta's shape passes and every malformed variant fails", () => {
    expect(validate(good)).toBe(true);
    const bad: unknown[] = [
      { ...good, cdn_url: 'http://mmg.whatsapp.net/v/x' },
      { ...good, cdn_url: 'ftp://mmg.whatsapp.net/x' },
      { ...good, cdn_url: 'https://user@mmg.whatsapp.net/x' },
      { ...good, extra: 1 },
      { ...good, file_name: '' },
      { ...good, media_id: 'a b' },
      { ...good, encryption_metadata: { ...good.encryption_metadata, iv: V.encryptionKey } },
      { ...good, encryption_metadata: { ...good.encryption_metadata, hmac_key: 'not base64!' } },
      { ...good, encryption_metadata: { ...good.encryption_metadata, encryption_key: V.iv } },
      { ...good, encryption_metadata: { ...good.encryption_metadata, plaintext_hash: undefined } },
      { ...good, encryption_metadata: { ...good.encryption_metadata, more: 'x' } },
    ];
    for (const b of bad) expect(validate(JSON.parse(JSON.stringify(b)))).toBe(false);
    expect(validate({ ...good, cdn_url: 'http://127.0.0.1:8080/v/x' })).toBe(true);
  });

  it("then the picker's file counts bound the array", () => {
    const limits = pickerLimitsOf({ 'min-uploaded-photos': 1, 'max-uploaded-photos': 2 }, 'PhotoPicker');
    expect(limits).toMatchObject({ kind: 'photo', minFiles: 1, maxFiles: 2, maxFileBytes: 25600 * 1024 });
    const arr = ajv.compile(pickerValueSchema(limits, false));
    expect(arr([])).toBe(false);
    expect(arr([good])).toBe(true);
    expect(arr([good, { ...good, media_id: 'b' }])).toBe(true);
    expect(arr([good, { ...good, media_id: 'b' }, { ...good, media_id: 'c' }])).toBe(false);
    const docs = pickerLimitsOf(
      { 'max-file-size-kb': 10, 'allowed-mime-types': ['application/pdf'], 'max-uploaded-documents': 40 },
      'DocumentPicker',
    );
    expect(docs).toMatchObject({
      kind: 'document',
      maxFiles: 30,
      maxFileBytes: 10240,
      allowedMimeTypes: ['application/pdf'],
    });
  });
});

describe('when a decrypted file is typed by its content', () => {
  it('then magic bytes decide, the extension only tells container formats apart', () => {
    expect(detectContentType(Buffer.from('%PDF-1.7\n'), 'x.jpg')).toBe('application/pdf');
    expect(detectContentType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'a.pdf')).toBe(
      'image/png',
    );
    expect(detectContentType(Buffer.from('PK\u0003\u0004rest'), 'cv.docx')).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    expect(detectContentType(Buffer.from('PK\u0003\u0004rest'), 'cv.exe')).toBe('application/zip');
    expect(detectContentType(Buffer.from('hello, world\n'), 'a.txt')).toBe('text/plain');
    expect(detectContentType(Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0xff]), 'a.pdf')).toBe('application/octet-stream');
  });
});

describe('when any part of a file or its metadata is changed (property)', () => {
  const plain = randomBytes(100);
  const { cdnFile: file, keys } = encryptMediaFile(plain);
  it('then no change ever yields a plaintext: every one is a MediaError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            kind: fc.constant('flip' as const),
            at: fc.nat(file.length - 1),
            bit: fc.integer({ min: 0, max: 7 }),
          }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat(file.length - 1) }),
          fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
          fc.record({
            kind: fc.constant('key' as const),
            which: fc.constantFrom('iv', 'encryptionKey', 'hmacKey', 'encryptedHash', 'plaintextHash'),
            at: fc.nat(15),
          }),
        ),
        (change) => {
          let f = file;
          let k: MediaKeys = keys;
          if (change.kind === 'flip') {
            f = Buffer.from(file);
            f[change.at] = f[change.at] ^ (1 << change.bit);
          } else if (change.kind === 'cut') f = file.subarray(0, change.at);
          else if (change.kind === 'append') f = Buffer.concat([file, Buffer.from(change.extra)]);
          else {
            const v = Buffer.from(keys[change.which]);
            v[change.at] = v[change.at] ^ 1;
            k = { ...keys, [change.which]: v };
          }
          expect(codeOf(() => decryptMediaFile(f, k))).toMatch(/^media_/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
