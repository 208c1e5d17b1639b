import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlowgateError } from '../errors';

/** A private key that cannot be used; a start-up error, never a per-request 421 (src/protocol/NOTES.md, "Status codes"). */
export class PrivateKeyError extends FlowgateError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super('private_key_unusable', `${file}: ${message}`);
  }
}

/** Meta requires 2048-bit keys (src/protocol/NOTES.md, "Keys"); larger keys are accepted, smaller refused. */
const MIN_MODULUS_BITS = 2048;

/**
 * Reads a PEM private key once into a KeyObject: PKCS#1 (legacy-encrypted or plain) and PKCS#8
 * (encrypted or plain) all load through node:crypto (src/protocol/NOTES.md, "Keys"). Parsing per request
 * costs ~2.3 ms against ~0.57 ms with a KeyObject (src/ARCHITECTURE.md, rule 11), so this runs at boot only.
 */
export function loadPrivateKeyFile(file: string, passphrase: string | undefined): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PrivateKeyError(file, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? 'error'})`);
  }
  return parsePrivateKeyPem(pem, passphrase, file);
}

export function parsePrivateKeyPem(pem: string, passphrase: string | undefined, label = 'private key'): KeyObject {
  if (!/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
    throw new PrivateKeyError(label, 'is not a PEM private key (expected "-----BEGIN … PRIVATE KEY-----")');
  }
  const encrypted = pem.includes('ENCRYPTED');
  if (encrypted && passphrase === undefined) {
    throw new PrivateKeyError(label, 'is encrypted; set FLOWS_PRIVATE_KEY_PASSPHRASE');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (encrypted && /BAD_DECRYPT|INTERRUPTED_OR_CANCELLED/.test(code)) {
      throw new PrivateKeyError(label, 'wrong passphrase');
    }
    // About 1 wrong passphrase in 300 decrypts to bytes whose CBC padding happens to be valid; the
    // decoder then fails with ERR_OSSL_UNSUPPORTED instead of BAD_DECRYPT. Say what is most likely
    // (found by test/unit/private-key.test.ts; measured with Node 20 / OpenSSL 3).
    if (encrypted && passphrase !== undefined) {
      throw new PrivateKeyError(label, `wrong passphrase, or the key file is damaged (${code || 'invalid key'})`);
    }
    throw new PrivateKeyError(label, `cannot be parsed (${code || 'invalid key'})`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PrivateKeyError(label, `is a ${key.asymmetricKeyType ?? 'non-RSA'} key; WhatsApp Flows needs RSA`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS) {
    throw new PrivateKeyError(label, `is ${bits}-bit; WhatsApp Flows needs at least ${MIN_MODULUS_BITS}`);
  }
  return key;
}
