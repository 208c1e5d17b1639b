import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, type KeyObject } from 'node:crypto';
import {
  decryptEnvelope,
  encryptResponse,
  EnvelopeDecryptError,
  hubSignature,
  isValidHubSignature,
  parsePrivateKeyPem,
} from '../../src/crypto';
import { A1, A2, A4 } from '../fixtures/protocol-vectors';
import { openResponse, sealRequest } from '../helpers/whatsapp-client';

/** Known-answer tests: our node:crypto path against src/protocol/NOTES.md, "Test vectors". */

const key = parsePrivateKeyPem(A2.privateKeyPem, A2.passphrase, 'A.2 key');
const aesKey = Buffer.from(A2.aesKeyHex, 'hex');
const iv = Buffer.from(A2.ivHex, 'hex');

function b64(buf: Buffer): string {
  return buf.toString('base64');
}

describe('A.1 webhook signature', () => {
  it('when the raw body is signed with the app secret, then the header matches exactly', () => {
    expect(Buffer.byteLength(A1.rawBody)).toBe(511);
    expect(hubSignature(A1.rawBody, A1.appSecret)).toBe(A1.header);
    expect(isValidHubSignature(Buffer.from(A1.rawBody), A1.header, [A1.appSecret])).toBe(true);
  });

  it('when the header is upper-case hex or surrounded by spaces, then it still verifies', () => {
    const upper = `sha256=${A1.header.slice(7).toUpperCase()}`;
    expect(isValidHubSignature(Buffer.from(A1.rawBody), upper, [A1.appSecret])).toBe(true);
    expect(isValidHubSignature(Buffer.from(A1.rawBody), ` ${A1.header} `, [A1.appSecret])).toBe(true);
  });

  it('when the secret is rotated, then the old secret among several still verifies', () => {
    expect(isValidHubSignature(Buffer.from(A1.rawBody), A1.header, ['x'.repeat(32), A1.appSecret])).toBe(true);
  });

  it('when one byte, the secret or the header shape differs, then it does not verify', () => {
    const body = Buffer.from(A1.rawBody);
    const altered = Buffer.from(A1.rawBody.replace('PyWa Tests', 'PyWa Testz'));
    expect(isValidHubSignature(altered, A1.header, [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, A1.header, ['1222e786b144d0e85b9f365372d93677'])).toBe(false);
    expect(isValidHubSignature(body, A1.header.slice(7), [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, `${A1.header}00`, [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, A1.header.slice(0, -2), [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, `sha1=${A1.header.slice(7)}`, [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, undefined, [A1.appSecret])).toBe(false);
    expect(isValidHubSignature(body, '', [A1.appSecret])).toBe(false);
  });
});

describe('A.4 data-endpoint signature over raw bytes', () => {
  it('when the compact envelope is signed, then the header matches the vector', () => {
    expect(Buffer.byteLength(A4.rawBody)).toBe(573);
    expect(hubSignature(A4.rawBody, A4.appSecret)).toBe(A4.header);
  });

  it('when the same JSON escapes "/" as "\\/", then only the raw-byte signature verifies it', () => {
    const escaped = A4.rawBody.replace(/\//g, '\\/');
    expect(JSON.parse(escaped)).toEqual(JSON.parse(A4.rawBody));
    expect(hubSignature(escaped, A4.appSecret)).toBe(A4.escapedSlashesHeader);
    expect(isValidHubSignature(Buffer.from(escaped), A4.escapedSlashesHeader, [A4.appSecret])).toBe(true);
    // Re-serialising drops the escapes, so the escaped body's header does not match the re-serialised bytes.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(escaped)));
    expect(isValidHubSignature(reserialised, A4.escapedSlashesHeader, [A4.appSecret])).toBe(false);
  });
});

describe('A.2 request decryption', () => {
  it('when the pywa envelope is decrypted with the encrypted PKCS#8 key, then key, IV and plaintext match', () => {
    const out = decryptEnvelope(A2.envelope, [key]);
    expect(out.aesKey.toString('hex')).toBe(A2.aesKeyHex);
    expect(out.iv.toString('hex')).toBe(A2.ivHex);
    expect(out.plaintext.toString('utf8')).toBe(A2.plaintext);
    expect(out.keyIndex).toBe(0);
  });

  it('when the right key is a previous one (rotation), then it is found and its index reported', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const out = decryptEnvelope(A2.envelope, [other, key]);
    expect(out.plaintext.toString('utf8')).toBe(A2.plaintext);
    expect(out.keyIndex).toBe(1);
  });

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const failures: { what: string; reason: string; change: Record<string, string>; keys?: KeyObject[] }[] = [
    { what: 'is sealed for another private key', reason: 'rsa_failed', change: {}, keys: [otherKey] },
    {
      what: 'has one flipped bit in the GCM tag',
      reason: 'gcm_failed',
      change: { encrypted_flow_data: flipLastBit(A2.envelope.encrypted_flow_data) },
    },
    {
      what: 'has one flipped bit in the ciphertext',
      reason: 'gcm_failed',
      change: { encrypted_flow_data: flipBit(A2.envelope.encrypted_flow_data, 0) },
    },
    { what: 'has a 12-byte IV', reason: 'bad_iv_length', change: { initial_vector: b64(iv.subarray(0, 12)) } },
    { what: 'has a different IV', reason: 'gcm_failed', change: { initial_vector: b64(Buffer.alloc(16, 1)) } },
    { what: 'has non-base64 characters', reason: 'bad_base64', change: { initial_vector: '5eCmDjs+VAJwdo5caZtgbw=!' } },
    {
      what: 'uses URL-safe base64',
      reason: 'bad_base64',
      change: { encrypted_aes_key: A2.envelope.encrypted_aes_key.replace(/\//g, '_') },
    },
    {
      what: 'has data shorter than a tag',
      reason: 'too_short',
      change: { encrypted_flow_data: b64(Buffer.alloc(15)) },
    },
    {
      what: 'has a wrapped key of the wrong length',
      reason: 'bad_key_length',
      change: { encrypted_aes_key: b64(Buffer.alloc(255, 7)) },
    },
    {
      what: 'has a wrapped key that is garbage',
      reason: 'rsa_failed',
      change: { encrypted_aes_key: b64(Buffer.alloc(256, 7)) },
    },
  ];
  it.each(failures)(
    'when the envelope $what, then it throws EnvelopeDecryptError($reason)',
    ({ reason, change, keys }) => {
      let thrown: unknown;
      try {
        decryptEnvelope({ ...A2.envelope, ...change }, keys ?? [key]);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(EnvelopeDecryptError);
      expect((thrown as EnvelopeDecryptError).reason).toBe(reason);
    },
  );

  it('when the unwrapped AES key is not 16, 24 or 32 bytes, then it throws bad_aes_key', () => {
    const wrapped = wrap(Buffer.alloc(20, 3));
    expect(() => decryptEnvelope({ ...A2.envelope, encrypted_aes_key: wrapped }, [key])).toThrow(
      expect.objectContaining({ reason: 'bad_aes_key' }),
    );
  });

  it('when a 32-byte key is used (not documented by Meta), then AES-256-GCM round-trips', () => {
    const k32 = Buffer.alloc(32, 9);
    const sealed = encryptResponse('{"a":1}', k32, Buffer.alloc(16, 0xff)); // flipped IV = 16 zero bytes
    const out = decryptEnvelope(
      { encrypted_flow_data: sealed, encrypted_aes_key: wrap(k32), initial_vector: b64(Buffer.alloc(16, 0)) },
      [key],
    );
    expect(out.plaintext.toString()).toBe('{"a":1}');
  });
});

function wrap(aes: Buffer): string {
  return b64(
    publicEncrypt({ key: createPublicKey(key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aes),
  );
}

describe('A.2 response encryption', () => {
  it.each(A2.responses.map((r) => [r.origin, r.plaintext, r.body]))(
    'when %s is encrypted with the request key and flipped IV, then the body matches byte for byte',
    (_origin, plaintext, body) => {
      expect(encryptResponse(plaintext, aesKey, iv)).toBe(body);
    },
  );

  it('when a response is encrypted, then it is not the un-flipped-IV ciphertext (negative vector)', () => {
    const body = encryptResponse('{"data":{"status":"active"}}', aesKey, iv);
    expect(body).not.toBe(A2.unflippedPingBody);
    // …and encrypting with the flipped IV as "request IV" flips it back, reproducing the wrong vector.
    expect(encryptResponse('{"data":{"status":"active"}}', aesKey, Buffer.from(A2.flippedIvHex, 'hex'))).toBe(
      A2.unflippedPingBody,
    );
    expect(Buffer.from(A2.flippedIvBase64, 'base64').toString('hex')).toBe(A2.flippedIvHex);
  });
});

function flipBit(b64Value: string, byteIndex: number): string {
  const buf = Buffer.from(b64Value, 'base64');
  buf[byteIndex] = buf[byteIndex] ^ 0x01;
  return buf.toString('base64');
}

function flipLastBit(b64Value: string): string {
  return flipBit(b64Value, Buffer.from(b64Value, 'base64').length - 1);
}

describe('the node-forge test client agrees with the vectors (so component tests check a second implementation)', () => {
  const forgeKey = aesKey.toString('binary');
  const forgeIv = iv.toString('binary');

  it.each(A2.responses.map((r) => [r.origin, r.plaintext, r.body]))(
    'when the client opens the %s body, then it reads the exact plaintext',
    (_origin, plaintext, body) => {
      expect(openResponse(body, forgeKey, forgeIv)).toBe(plaintext);
    },
  );

  it('when the client opens the un-flipped-IV body, then it refuses it', () => {
    expect(() => openResponse(A2.unflippedPingBody, forgeKey, forgeIv)).toThrow(/does not authenticate/);
  });

  it('when the client seals a request with the A.2 key and IV, then our decryptor reads it back', () => {
    const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
    const sealed = sealRequest(publicKeyPem, A2.plaintext, { aesKey: forgeKey, iv: forgeIv });
    expect(sealed.envelope.encrypted_flow_data).toBe(A2.envelope.encrypted_flow_data);
    expect(sealed.envelope.initial_vector).toBe(A2.envelope.initial_vector);
    const out = decryptEnvelope(sealed.envelope, [key]);
    expect(out.plaintext.toString()).toBe(A2.plaintext);
    expect(out.aesKey.toString('hex')).toBe(A2.aesKeyHex);
  });
});
