import { createCipheriv, createDecipheriv, constants, privateDecrypt, type KeyObject } from 'node:crypto';
import { decodeStrictBase64 } from './base64';
import { FlowgateError } from '../errors';

/** Why an envelope could not be decrypted; never sent to the caller (421 has no body). */
export type DecryptFailure =
  'bad_base64' | 'bad_iv_length' | 'bad_key_length' | 'bad_aes_key' | 'rsa_failed' | 'too_short' | 'gcm_failed';

export class EnvelopeDecryptError extends FlowgateError {
  constructor(readonly reason: DecryptFailure) {
    super('envelope_decrypt_failed', `envelope cannot be decrypted: ${reason}`);
  }
}

export interface EnvelopeFields {
  readonly encrypted_flow_data: string;
  readonly encrypted_aes_key: string;
  readonly initial_vector: string;
}

export interface DecryptedEnvelope {
  readonly plaintext: Buffer;
  /** Key and IV of this request: the response is sealed with them (src/protocol/NOTES.md, "Envelope encryption"). */
  readonly aesKey: Buffer;
  readonly iv: Buffer;
  /** 0 for the current private key, 1… for previous keys (rotation). */
  readonly keyIndex: number;
}

/**
 * Told how long each RSA private-key operation took, failed ones included (metrics: the share of
 * the CPU that is RSA, the endpoint's floor; the bench's per-request figure).
 */
export type RsaTimeSink = (seconds: number) => void;

const IV_BYTES = 16;
const TAG_BYTES = 16;

/**
 * src/protocol/NOTES.md, "Envelope encryption": RSA-OAEP (SHA-256 for OAEP and MGF1) unwraps a 128-bit AES key, then
 * AES-GCM with a 16-byte IV and the 16-byte tag appended to the ciphertext. Keys are tried in
 * order (current first) so a rotation needs no downtime.
 */
export function decryptEnvelope(
  envelope: EnvelopeFields,
  keys: readonly KeyObject[],
  rsaTime?: RsaTimeSink,
): DecryptedEnvelope {
  const wrappedKey = decodeStrictBase64(envelope.encrypted_aes_key);
  const iv = decodeStrictBase64(envelope.initial_vector);
  const data = decodeStrictBase64(envelope.encrypted_flow_data);
  if (!wrappedKey || !iv || !data) throw new EnvelopeDecryptError('bad_base64');
  if (iv.length !== IV_BYTES) throw new EnvelopeDecryptError('bad_iv_length');
  if (data.length < TAG_BYTES) throw new EnvelopeDecryptError('too_short');

  let lastFailure: DecryptFailure = 'bad_key_length';
  for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
    const key = keys[keyIndex];
    const modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    if (wrappedKey.length !== modulusBytes) continue;
    let aesKey: Buffer;
    const started = performance.now();
    try {
      aesKey = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrappedKey);
    } catch {
      lastFailure = 'rsa_failed';
      continue;
    } finally {
      rsaTime?.((performance.now() - started) / 1000);
    }
    // Meta documents a 128-bit key; the GCM mode is chosen from the length (src/protocol/NOTES.md, "Envelope encryption"
    // implementation note), and anything that is not an AES key length is refused.
    if (aesKey.length !== 16 && aesKey.length !== 24 && aesKey.length !== 32) {
      throw new EnvelopeDecryptError('bad_aes_key');
    }
    const plaintext = gcmOpen(aesKey, iv, data);
    if (!plaintext) throw new EnvelopeDecryptError('gcm_failed');
    return { plaintext, aesKey, iv, keyIndex };
  }
  throw new EnvelopeDecryptError(lastFailure);
}

function gcmOpen(aesKey: Buffer, iv: Buffer, data: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv(gcmName(aesKey), aesKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * src/protocol/NOTES.md, "Envelope encryption": the response is the JSON's UTF-8 bytes under the request's AES key with every
 * bit of the IV inverted, tag appended, as bare base64.
 */
export function encryptResponse(json: string, aesKey: Buffer, iv: Buffer): string {
  const flipped = Buffer.allocUnsafe(iv.length);
  for (let i = 0; i < iv.length; i++) flipped[i] = iv[i] ^ 0xff;
  const cipher = createCipheriv(gcmName(aesKey), aesKey, flipped, { authTagLength: TAG_BYTES });
  return Buffer.concat([cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

function gcmName(aesKey: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return `aes-${aesKey.length * 8}-gcm` as 'aes-128-gcm';
}
