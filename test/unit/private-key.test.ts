import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { decryptEnvelope, loadPrivateKeyFile, parsePrivateKeyPem, PrivateKeyError } from '../../src/crypto';
import { createLogger } from '../../src/logging';
import { createService } from '../../src/service';
import { A2 } from '../fixtures/protocol-vectors';
import { makeTestKeys, productionEnv, testEnv } from '../helpers/env';
import { sealRequest } from '../helpers/whatsapp-client';

/**
 * Every PEM form Meta's tools and OpenSSL produce loads (src/protocol/NOTES.md, "Keys"); anything unusable is a
 * start-up PrivateKeyError — never a per-request 421 — and its message never holds the passphrase.
 */

const PASSPHRASE = 'correct horse battery staple';
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const pems: [string, string, string | undefined, RegExp][] = [
  [
    'PKCS#1 legacy-encrypted with DES-EDE3-CBC (Meta generator, openssl genrsa -des3 -traditional)',
    pair.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: PASSPHRASE }).toString(),
    PASSPHRASE,
    /BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,/,
  ],
  [
    'PKCS#1 legacy-encrypted with AES-256-CBC',
    pair.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString(),
    PASSPHRASE,
    /Proc-Type: 4,ENCRYPTED/,
  ],
  [
    'PKCS#8 encrypted (OpenSSL 3 default)',
    pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString(),
    PASSPHRASE,
    /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
  ],
  [
    'PKCS#1 plain',
    pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    undefined,
    /^-----BEGIN RSA PRIVATE KEY-----\nMII/,
  ],
  [
    'PKCS#8 plain (Meta Java sample)',
    pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    undefined,
    /^-----BEGIN PRIVATE KEY-----/,
  ],
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-pem-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): PrivateKeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PrivateKeyError);
    return err as PrivateKeyError;
  }
  throw new Error('expected a PrivateKeyError');
}

describe('when the PEM is in a supported form', () => {
  it.each(pems)('then %s loads from a file and decrypts what the client seals', (_form, pem, passphrase, shape) => {
    expect(pem).toMatch(shape);
    const file = join(dir, 'private.pem');
    writeFileSync(file, pem);
    const key = loadPrivateKeyFile(file, passphrase);
    const sealed = sealRequest(publicKeyPem, { version: '3.0', action: 'ping' });
    expect(decryptEnvelope(sealed.envelope, [key]).plaintext.toString()).toBe('{"version":"3.0","action":"ping"}');
  });

  it('then a plain key ignores a passphrase it does not need', () => {
    expect(() => parsePrivateKeyPem(pems[4][1], 'unused')).not.toThrow();
  });

  it('then the pywa PKCS#8 key of A.2 loads with its passphrase', () => {
    expect(parsePrivateKeyPem(A2.privateKeyPem, A2.passphrase).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });
});

describe('when the key cannot be used', () => {
  it.each(pems.filter(([, , passphrase]) => passphrase !== undefined))(
    'then %s with a wrong passphrase says "wrong passphrase" and never prints it',
    (_form, pem) => {
      const err = errorOf(() => parsePrivateKeyPem(pem, 'Tr0ub4dor&3-wrong', 'key.pem'));
      expect(err.message).toMatch(/^key\.pem: wrong passphrase/);
      expect(err.message).not.toContain('Tr0ub4dor');
    },
  );

  it.each(pems.filter(([, , passphrase]) => passphrase !== undefined))(
    'then %s without a passphrase names the variable to set',
    (_form, pem) => {
      expect(errorOf(() => parsePrivateKeyPem(pem, undefined)).message).toContain('set FLOWS_PRIVATE_KEY_PASSPHRASE');
    },
  );

  it('then a wrong passphrase that happens to yield valid CBC padding is still reported as such', () => {
    // ~1 in 300 wrong passphrases decrypt to garbage with valid padding: OpenSSL then says
    // ERR_OSSL_UNSUPPORTED instead of BAD_DECRYPT. Search for one (legacy PKCS#1 is fast to try).
    const pem = pems[0][1];
    let unlucky: string | undefined;
    for (let i = 0; i < 20_000 && !unlucky; i++) {
      try {
        createPrivateKey({ key: pem, format: 'pem', passphrase: `guess-${i}` });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_OSSL_BAD_DECRYPT') unlucky = `guess-${i}`;
      }
    }
    expect(unlucky).toBeDefined();
    const err = errorOf(() => parsePrivateKeyPem(pem, unlucky, 'key.pem'));
    expect(err.message).toMatch(/^key\.pem: wrong passphrase/);
    expect(err.message).not.toContain(unlucky);
  });

  it('then an empty passphrase on an encrypted key is a wrong passphrase', () => {
    expect(errorOf(() => parsePrivateKeyPem(pems[2][1], '')).message).toContain('wrong passphrase');
  });

  it('then a missing file, a public key, garbage, a small key and an EC key are refused with the reason', () => {
    expect(errorOf(() => loadPrivateKeyFile(join(dir, 'nope.pem'), undefined)).message).toMatch(/file not found$/);
    expect(errorOf(() => parsePrivateKeyPem(publicKeyPem, undefined)).message).toContain('is not a PEM private key');
    expect(
      errorOf(() => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', undefined))
        .message,
    ).toContain('cannot be parsed');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(errorOf(() => parsePrivateKeyPem(small.toString(), undefined)).message).toContain('is 1024-bit');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(errorOf(() => parsePrivateKeyPem(ec.toString(), undefined)).message).toContain('needs RSA');
  });
});

describe('when the service starts with an unusable key', () => {
  const logger = createLogger({ level: 'error', format: 'json', sink: () => undefined });

  it('then a wrong passphrase is a start-up error (PrivateKeyError), not a 421 per request', async () => {
    const keys = makeTestKeys(PASSPHRASE);
    try {
      const config = loadConfig(testEnv(keys, { FLOWS_PRIVATE_KEY_PASSPHRASE: 'not the passphrase' }), {
        devSecretsDir: keys.dir,
      });
      const started = createService(config, { logger });
      await expect(started).rejects.toBeInstanceOf(PrivateKeyError);
      await expect(started).rejects.toThrow(/: wrong passphrase/);
      await expect(started).rejects.not.toThrow(/not the passphrase/);
    } finally {
      keys.cleanup();
    }
  });

  it('then a previous key with a wrong passphrase stops the start too', async () => {
    const keys = makeTestKeys();
    const old = makeTestKeys(PASSPHRASE);
    try {
      const config = loadConfig(
        testEnv(keys, {
          FLOWS_PREVIOUS_PRIVATE_KEY_FILES: old.privateKeyFile,
          FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE: 'wrong',
        }),
        { devSecretsDir: keys.dir },
      );
      await expect(createService(config, { logger })).rejects.toThrow(`${old.privateKeyFile}: wrong passphrase`);
    } finally {
      keys.cleanup();
      old.cleanup();
    }
  });

  it('then production with a missing key file refuses (no development key is generated)', async () => {
    const keys = makeTestKeys();
    try {
      const missing = join(dir, 'absent.pem');
      const config = loadConfig(productionEnv(keys, { FLOWS_PRIVATE_KEY_FILE: missing }), {
        devSecretsDir: keys.dir,
      });
      await expect(createService(config, { logger })).rejects.toThrow(`${missing}: file not found`);
      expect(() => loadConfig(productionEnv(keys, { FLOWS_PRIVATE_KEY_FILE: undefined }))).toThrow(ConfigError);
    } finally {
      keys.cleanup();
    }
  });
});
