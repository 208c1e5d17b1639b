import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { decodeStrictBase64 } from '../../crypto';
import { DevtoolError } from '../errors';

/**
 * WhatsApp's side of the data channel (src/protocol/NOTES.md, "Envelope encryption"): a fresh AES-128 key and 16-byte IV per
 * request, the key wrapped with RSA-OAEP (SHA-256 for OAEP and MGF1), the payload sealed with
 * AES-128-GCM, tag appended; the reply opened under the same key with every IV bit inverted.
 * node:crypto is fine here: the simulator is never on the request path, and the component tests
 * already check the server against an independent node-forge client.
 */

/** A reply WhatsApp would refuse: the simulator stops and says why. */
export class BadReplyError extends DevtoolError {}

export interface SealedRequest {
  /** The exact bytes sent, and signed. */
  readonly body: string;
  readonly aesKey: Buffer;
  readonly iv: Buffer;
}

export function sealRequest(publicKey: KeyObject | string, payload: unknown): SealedRequest {
  const aesKey = randomBytes(16);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-gcm', aesKey, iv, { authTagLength: 16 });
  const data = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  const body = JSON.stringify({
    encrypted_flow_data: data.toString('base64'),
    encrypted_aes_key: wrapped.toString('base64'),
    initial_vector: iv.toString('base64'),
  });
  return { body, aesKey, iv };
}

/** Opens a reply body as the WhatsApp client does; every way it can fail has its own message. */
export function openReply(body: string, aesKey: Buffer, iv: Buffer): Record<string, unknown> {
  if (body.trim() === '') throw new BadReplyError('the reply body is empty (expected bare base64)');
  if (/^\s*[{["]/.test(body)) {
    throw new BadReplyError(
      `the reply body is JSON or quoted, not bare base64 ("Response body is not Base64 encoded"): ${preview(body)}`,
    );
  }
  const bytes = decodeStrictBase64(body.trim());
  if (!bytes) throw new BadReplyError(`the reply body is not standard base64: ${preview(body)}`);
  if (bytes.length < 17) throw new BadReplyError(`the reply decodes to ${bytes.length} bytes, too short for AES-GCM`);
  const flipped = Buffer.from(iv.map((b) => b ^ 0xff));
  let plaintext: string;
  try {
    const decipher = createDecipheriv('aes-128-gcm', aesKey, flipped, { authTagLength: 16 });
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    plaintext = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new BadReplyError(
      "the reply does not decrypt with the request's AES key and the inverted IV " +
        '(a phone reports response-decryption-error; src/protocol/NOTES.md, "Envelope encryption")',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(plaintext);
  } catch {
    throw new BadReplyError(`the decrypted reply is not JSON: ${preview(plaintext)}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new BadReplyError('the decrypted reply is not a JSON object');
  }
  return json as Record<string, unknown>;
}

export interface HttpReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: string;
}

/** POSTs one sealed request, signed like Meta signs it when an app secret is known (src/protocol/NOTES.md, "Request signature"). */
export async function postSealed(
  url: string,
  sealed: SealedRequest,
  appSecret: string | undefined,
): Promise<HttpReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (appSecret) {
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', appSecret).update(sealed.body).digest('hex')}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: sealed.body, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const reason = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = reason?.code ?? reason?.message;
    const name = (err as Error).name;
    throw new BadReplyError(
      name === 'TimeoutError'
        ? `${url} did not answer within 10 s (WhatsApp reports timeout_error)`
        : `cannot reach ${url} (${cause ?? (err as Error).message}); is the service running (npm start)?`,
    );
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/**
 * A `flow_token_signature` as WhatsApp sends it with Data API 4.0 (src/protocol/NOTES.md): an HS256
 * JWT keyed with the app secret whose `flow_token` claim is the flow token.
 */
export function signFlowToken(flowToken: string, appSecret: string): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ flow_token: flowToken })}`;
  return `${input}.${createHmac('sha256', appSecret).update(input).digest('base64url')}`;
}

export function preview(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}…` : oneLine);
}
