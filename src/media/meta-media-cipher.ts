import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MediaError } from './errors';

/**
 * The `encryption_metadata` of a PhotoPicker/DocumentPicker file, decoded (all base64 on the wire).
 * Sizes: iv 16 bytes, encryption_key 32, hmac_key 32, both hashes 32 (SHA-256).
 */
export interface MediaKeys {
  readonly encryptedHash: Buffer;
  readonly iv: Buffer;
  readonly encryptionKey: Buffer;
  readonly hmacKey: Buffer;
  readonly plaintextHash: Buffer;
}

/** Length of the truncated HMAC-SHA256 at the end of a CDN file. */
export const MAC_LENGTH = 10;

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

const equal = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/**
 * Checks and decrypts one file downloaded from WhatsApp's CDN, in Meta's order (WhatsApp Flows
 * "Media Upload Components › Handling media", https://developers.facebook.com/docs/whatsapp/flows/reference/media_upload,
 * scheme "AES256-CBC+HMAC-SHA256+pkcs7"):
 *
 * 1. SHA-256 of the WHOLE download (ciphertext and MAC) equals `encrypted_hash`;
 * 2. the file is `ciphertext ‖ mac10`; HMAC-SHA256 with `hmac_key` over `iv ‖ ciphertext`, cut
 *    to its first 10 bytes, equals `mac10` — the IV is part of the MAC input (an HMAC over the
 *    ciphertext alone does not match the known-answer vector in test/unit/media-cipher.test.ts);
 * 3. AES-256-CBC with `encryption_key` and `iv`, PKCS#7 padding removed;
 * 4. SHA-256 of the plaintext equals `plaintext_hash`.
 *
 * Every comparison is constant-time; the first failing check throws its MediaError and nothing
 * decrypted leaves this function unless all four passed.
 */
export function decryptMediaFile(cdnFile: Buffer, keys: MediaKeys): Buffer {
  if (!equal(sha256(cdnFile), keys.encryptedHash)) throw new MediaError('media_hash_mismatch');
  // At least one AES block besides the MAC; CBC ciphertext is a whole number of blocks.
  if (cdnFile.length < MAC_LENGTH + 16 || (cdnFile.length - MAC_LENGTH) % 16 !== 0) {
    throw new MediaError('media_decrypt_failed', `download of ${cdnFile.length} bytes is not ciphertext ‖ MAC`);
  }
  const ciphertext = cdnFile.subarray(0, cdnFile.length - MAC_LENGTH);
  const mac = cdnFile.subarray(cdnFile.length - MAC_LENGTH);
  const expected = createHmac('sha256', keys.hmacKey)
    .update(keys.iv)
    .update(ciphertext)
    .digest()
    .subarray(0, MAC_LENGTH);
  if (!equal(expected, mac)) throw new MediaError('media_hmac_mismatch');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', keys.encryptionKey, keys.iv);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new MediaError('media_decrypt_failed', 'bad padding');
  }
  if (!equal(sha256(plaintext), keys.plaintextHash)) {
    plaintext.fill(0);
    throw new MediaError('media_plaintext_mismatch');
  }
  return plaintext;
}

/**
 * The other direction, as WhatsApp does it: fresh keys and IV, AES-256-CBC/PKCS#7, the 10-byte
 * MAC over iv ‖ ciphertext appended, both hashes. For the simulator's CDN stand-in and tests; the
 * service itself never encrypts this way.
 */
export function encryptMediaFile(
  plaintext: Buffer,
  fixed: Partial<Pick<MediaKeys, 'iv' | 'encryptionKey' | 'hmacKey'>> = {},
): { cdnFile: Buffer; keys: MediaKeys } {
  const iv = fixed.iv ?? randomBytes(16);
  const encryptionKey = fixed.encryptionKey ?? randomBytes(32);
  const hmacKey = fixed.hmacKey ?? randomBytes(32);
  const cipher = createCipheriv('aes-256-cbc', encryptionKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', hmacKey).update(iv).update(ciphertext).digest().subarray(0, MAC_LENGTH);
  const cdnFile = Buffer.concat([ciphertext, mac]);
  return {
    cdnFile,
    keys: { encryptedHash: sha256(cdnFile), iv, encryptionKey, hmacKey, plaintextHash: sha256(plaintext) },
  };
}
