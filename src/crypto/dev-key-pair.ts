import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PrivateKeyError } from './private-key';

export interface GeneratedKeyPair {
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  readonly publicKeyPem: string;
}

/**
 * Writes a 2048-bit RSA pair: the private key as PKCS#8 PEM (encrypted with AES-256-CBC when a
 * passphrase is given) with mode 0600, the public key as SPKI PEM beside it — the format the
 * Business Encryption API takes (src/protocol/NOTES.md, "Keys"). Refuses to overwrite an existing key.
 */
export function writeKeyPair(privateKeyFile: string, passphrase?: string): GeneratedKeyPair {
  const publicKeyFile = join(dirname(privateKeyFile), 'public.pem');
  for (const file of [privateKeyFile, publicKeyFile]) {
    if (existsSync(file)) throw new PrivateKeyError(file, 'already exists; move it away first');
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding:
      passphrase === undefined
        ? { type: 'pkcs8', format: 'pem' }
        : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  });
  mkdirSync(dirname(privateKeyFile), { recursive: true });
  writeFileSync(privateKeyFile, privateKey, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicKeyFile, publicKey, { mode: 0o644, flag: 'wx' });
  return { privateKeyFile, publicKeyFile, publicKeyPem: publicKey };
}
