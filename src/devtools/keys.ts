import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrivateKeyPem, PrivateKeyError } from '../crypto';

import { DevtoolError } from './errors';

/** A key tool failure with a message meant for the person at the terminal. */
export class KeyToolError extends DevtoolError {}

/** The Graph API version printed in the upload instructions. */
export const GRAPH_API_VERSION = 'v23.0';

export interface GeneratedKeys {
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  readonly publicKeyPem: string;
  readonly encrypted: boolean;
  readonly fingerprint: string;
}

/**
 * Writes a new 2048-bit RSA pair — the size Meta requires (src/protocol/NOTES.md, "Keys") — as `private.pem`
 * (PKCS#8, AES-256-CBC encrypted when a passphrase is given, mode 0600) and `public.pem` (SPKI,
 * the form the Business Encryption API takes). Refuses to replace existing files unless `force`.
 */
export function generateKeys(options: { outDir: string; passphrase?: string; force?: boolean }): GeneratedKeys {
  const privateKeyFile = join(options.outDir, 'private.pem');
  const publicKeyFile = join(options.outDir, 'public.pem');
  if (!options.force) {
    for (const file of [privateKeyFile, publicKeyFile]) {
      if (existsSync(file)) {
        throw new KeyToolError(`${file} already exists; pass --force to replace it (the old key stops working)`);
      }
    }
  }
  if (options.passphrase !== undefined && options.passphrase.length < 4) {
    throw new KeyToolError('the passphrase must have at least 4 characters');
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding:
      options.passphrase === undefined
        ? { type: 'pkcs8', format: 'pem' }
        : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: options.passphrase },
  });
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(privateKeyFile, privateKey, { mode: 0o600 });
  chmodSync(privateKeyFile, 0o600); // mode only applies when the file is created
  writeFileSync(publicKeyFile, publicKey, { mode: 0o644 });
  return {
    privateKeyFile,
    publicKeyFile,
    publicKeyPem: publicKey,
    encrypted: options.passphrase !== undefined,
    fingerprint: fingerprintOf(createPublicKey(publicKey)),
  };
}

/** The exact call that uploads a public key for one phone number (documented, never executed here). */
export function uploadInstructions(publicKeyFile: string): string {
  return [
    'Upload the public key for EACH WhatsApp phone number that sends this flow (it replaces the previous key):',
    '',
    `  curl -X POST "https://graph.facebook.com/${GRAPH_API_VERSION}/<PHONE_NUMBER_ID>/whatsapp_business_encryption" \\`,
    '    -H "Authorization: Bearer <ACCESS_TOKEN>" \\',
    `    --data-urlencode "business_public_key@${publicKeyFile}"`,
    '',
    'Expected answer: {"success":true}. Check it with',
    `  curl "https://graph.facebook.com/${GRAPH_API_VERSION}/<PHONE_NUMBER_ID>/whatsapp_business_encryption" -H "Authorization: Bearer <ACCESS_TOKEN>"`,
    'which must show "business_public_key_signature_status": "VALID".',
  ].join('\n');
}

export interface KeyCheckResult {
  readonly bits: number;
  readonly fingerprint: string;
  readonly encrypted: boolean;
}

/**
 * Proves that a private key, its passphrase and a public key belong together: the key loads with
 * the passphrase (exactly as the service loads it), and a random AES key wrapped with the public
 * key the way WhatsApp wraps it (RSA-OAEP, SHA-256) unwraps to the same bytes.
 */
export function checkKeys(options: {
  privateKeyFile: string;
  publicKeyFile: string;
  passphrase?: string;
}): KeyCheckResult {
  const privatePem = readText(options.privateKeyFile, 'private key');
  let privateKey: KeyObject;
  try {
    privateKey = parsePrivateKeyPem(privatePem, options.passphrase, options.privateKeyFile);
  } catch (err) {
    if (err instanceof PrivateKeyError && /wrong passphrase/.test(err.message)) {
      throw new KeyToolError(`${options.privateKeyFile}: wrong passphrase (the key does not decrypt with it)`);
    }
    if (err instanceof PrivateKeyError && /is encrypted/.test(err.message)) {
      throw new KeyToolError(
        `${options.privateKeyFile}: the key is encrypted; give its passphrase with --passphrase-file or FLOWS_PRIVATE_KEY_PASSPHRASE`,
      );
    }
    throw new KeyToolError((err as Error).message);
  }
  const publicPem = readText(options.publicKeyFile, 'public key');
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(publicPem)) {
    throw new KeyToolError(`${options.publicKeyFile}: is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicPem, format: 'pem' });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'invalid key';
    throw new KeyToolError(`${options.publicKeyFile}: malformed public key PEM (${code})`);
  }
  if (publicKey.asymmetricKeyType !== 'rsa') {
    throw new KeyToolError(`${options.publicKeyFile}: is a ${publicKey.asymmetricKeyType ?? 'non-RSA'} key, not RSA`);
  }
  const aesKey = randomBytes(16);
  const wrapped = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  let unwrapped: Buffer | undefined;
  try {
    unwrapped = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped,
    );
  } catch {
    unwrapped = undefined;
  }
  if (!unwrapped || !unwrapped.equals(aesKey)) {
    throw new KeyToolError(
      `${options.publicKeyFile} does not belong to ${options.privateKeyFile}: a key wrapped with this public key ` +
        `cannot be unwrapped with the private key (public key fingerprint ${fingerprintOf(publicKey)}, ` +
        `private key's public half ${fingerprintOf(createPublicKey(privateKey))})`,
    );
  }
  return {
    bits: privateKey.asymmetricKeyDetails?.modulusLength ?? 0,
    fingerprint: fingerprintOf(publicKey),
    encrypted: privatePem.includes('ENCRYPTED'),
  };
}

/** SHA-256 of the DER public key, to compare keys across machines without printing them. */
export function fingerprintOf(key: KeyObject): string {
  return `SHA256:${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64')}`;
}

/** A passphrase file's content without the final line break editors add. */
export function readPassphraseFile(file: string): string {
  const text = readText(file, 'passphrase file').replace(/\r?\n$/, '');
  if (text === '') throw new KeyToolError(`${file}: the passphrase file is empty`);
  return text;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyToolError(`${file}: cannot read the ${what} (${code === 'ENOENT' ? 'file not found' : code})`);
  }
}
