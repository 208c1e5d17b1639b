import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SubmissionKey } from '../config';
import { FlowgateError } from '../errors';

export interface SealedValue {
  readonly keyId: string;
  /** 12-byte nonce ‖ ciphertext ‖ 16-byte tag */
  readonly blob: Buffer;
}

export class AtRestDecryptError extends FlowgateError {
  constructor(message: string) {
    super('at_rest_decrypt_failed', message);
  }
}

/**
 * AES-256-GCM for data at rest with a keyring: new data is sealed with the first key, any key
 * opens what it sealed. The associated data binds a ciphertext to its row (flow, token, subject),
 * so a ciphertext copied into another row does not open.
 */
export class AtRestCipher {
  readonly #keys: Map<string, Buffer>;
  readonly #currentId: string;

  constructor(keys: readonly SubmissionKey[]) {
    if (keys.length === 0) throw new Error('at-rest keyring is empty');
    this.#keys = new Map(keys.map((k) => [k.id, Buffer.from(k.key.reveal(), 'base64')]));
    this.#currentId = keys[0].id;
  }

  get currentKeyId(): string {
    return this.#currentId;
  }

  hasKey(id: string): boolean {
    return this.#keys.has(id);
  }

  seal(plaintext: Buffer | string, associatedData: string): SealedValue {
    const key = this.#keys.get(this.#currentId) as Buffer;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(`${this.#currentId}\u0000${associatedData}`, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { keyId: this.#currentId, blob: Buffer.concat([nonce, body]) };
  }

  open(sealed: SealedValue, associatedData: string): Buffer {
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new AtRestDecryptError(`no key "${sealed.keyId}" in the keyring`);
    if (sealed.blob.length < 28) throw new AtRestDecryptError('ciphertext is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.blob.subarray(0, 12));
      decipher.setAAD(Buffer.from(`${sealed.keyId}\u0000${associatedData}`, 'utf8'));
      decipher.setAuthTag(sealed.blob.subarray(sealed.blob.length - 16));
      return Buffer.concat([decipher.update(sealed.blob.subarray(12, sealed.blob.length - 16)), decipher.final()]);
    } catch {
      throw new AtRestDecryptError('ciphertext does not authenticate (wrong key, or altered or moved row)');
    }
  }
}
