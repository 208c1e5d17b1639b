import { createHmac } from 'node:crypto';
import { openReply, sealRequest } from '../devtools';

/**
 * WhatsApp's side of the envelope (src/protocol/NOTES.md, "Envelope encryption"), shared with the simulator (src/devtools/simulator/
 * wire.ts). The load tools seal every request up front, so the client's RSA work is never part of a
 * measurement.
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
  const sealed = sealRequest(publicKeyPem, payload);
  const body = Buffer.from(sealed.body);
  const signature = appSecret ? `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}` : undefined;
  return { body, signature, aesKey: sealed.aesKey, iv: sealed.iv };
}

/** Opens a response body (AES-GCM under the request's key, IV bits inverted); undefined when it does not authenticate. */
export function openEndpointResponse(body: string, aesKey: Buffer, iv: Buffer): unknown {
  try {
    return openReply(body, aesKey, iv);
  } catch {
    return undefined;
  }
}
