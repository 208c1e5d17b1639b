import { createCipheriv, createDecipheriv, createHmac, publicEncrypt, randomBytes, constants } from 'node:crypto';

/**
 * WhatsApp's side of the envelope with node:crypto (PROTOCOL.md §2): RSA-OAEP-SHA256 wraps a fresh
 * 128-bit key, AES-128-GCM with a 16-byte IV seals the JSON, tag appended. The load tools seal
 * every request up front, so the client's RSA work is never part of a measurement.
 */
export interface SealedBody {
  /** The exact bytes to POST (the signature covers them). */
  readonly body: Buffer;
  /** `sha256=<hex>` over `body`, or undefined when no app secret is used. */
  readonly signature: string | undefined;
  readonly aesKey: Buffer;
  readonly iv: Buffer;
}

export function sealForEndpoint(publicKeyPem: string, payload: unknown, appSecret: string | undefined): SealedBody {
  const aesKey = randomBytes(16);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-gcm', aesKey, iv, { authTagLength: 16 });
  const data = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  const body = Buffer.from(
    JSON.stringify({
      encrypted_flow_data: data.toString('base64'),
      encrypted_aes_key: wrapped.toString('base64'),
      initial_vector: iv.toString('base64'),
    }),
  );
  const signature = appSecret ? `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}` : undefined;
  return { body, signature, aesKey, iv };
}

/** Opens a response body (AES-GCM under the request's key, IV bits inverted); undefined when it does not authenticate. */
export function openEndpointResponse(body: string, aesKey: Buffer, iv: Buffer): unknown {
  try {
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length < 16) return undefined;
    const flipped = Buffer.from(iv.map((b) => b ^ 0xff));
    const decipher = createDecipheriv('aes-128-gcm', aesKey, flipped, { authTagLength: 16 });
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
