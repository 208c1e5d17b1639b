import forge from 'node-forge';
import { createHmac } from 'node:crypto';

/**
 * Plays WhatsApp's side of the protocol with node-forge — an implementation independent of the
 * node:crypto code under test (DESIGN.md practice 10): RSA-OAEP with SHA-256 for OAEP and MGF1,
 * AES-128-GCM with a 16-byte IV and the tag appended; responses opened with the inverted IV.
 */

export interface Envelope {
  encrypted_flow_data: string;
  encrypted_aes_key: string;
  initial_vector: string;
}

export interface SealedRequest {
  readonly envelope: Envelope;
  /** raw bytes (forge binary strings) of this request's key and IV, to open the response */
  readonly aesKey: string;
  readonly iv: string;
}

export function sealRequest(
  publicKeyPem: string,
  payload: unknown,
  options: { aesKey?: string; iv?: string } = {},
): SealedRequest {
  const publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  const aesKey = options.aesKey ?? forge.random.getBytesSync(16);
  const iv = options.iv ?? forge.random.getBytesSync(16);
  const cipher = forge.cipher.createCipher('AES-GCM', aesKey);
  cipher.start({ iv, tagLength: 128 });
  cipher.update(
    forge.util.createBuffer(forge.util.encodeUtf8(typeof payload === 'string' ? payload : JSON.stringify(payload))),
  );
  cipher.finish();
  const data = cipher.output.getBytes() + cipher.mode.tag.getBytes();
  const wrapped = publicKey.encrypt(aesKey, 'RSA-OAEP', {
    md: forge.md.sha256.create(),
    mgf1: { md: forge.md.sha256.create() },
  });
  return {
    envelope: {
      encrypted_flow_data: forge.util.encode64(data),
      encrypted_aes_key: forge.util.encode64(wrapped),
      initial_vector: forge.util.encode64(iv),
    },
    aesKey,
    iv,
  };
}

/** Opens a response body: AES-GCM under the request's key with every IV bit inverted (PROTOCOL.md §2.2). */
export function openResponse(body: string, aesKey: string, iv: string): string {
  const bytes = forge.util.decode64(body);
  if (bytes.length < 16) throw new Error('response shorter than a GCM tag');
  let flipped = '';
  for (let i = 0; i < iv.length; i++) flipped += String.fromCharCode(iv.charCodeAt(i) ^ 0xff);
  const decipher = forge.cipher.createDecipher('AES-GCM', aesKey);
  decipher.start({ iv: flipped, tagLength: 128, tag: forge.util.createBuffer(bytes.slice(-16)) });
  decipher.update(forge.util.createBuffer(bytes.slice(0, -16)));
  if (!decipher.finish()) throw new Error('response does not authenticate under the flipped IV');
  return forge.util.decodeUtf8(decipher.output.getBytes());
}

export interface FlowReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly rawBody: string;
  /** The decrypted JSON, when the body was an encrypted response. */
  readonly json: Record<string, unknown> | undefined;
}

export interface WhatsAppClientOptions {
  readonly baseUrl: string;
  readonly flowId: string;
  readonly publicKeyPem: string;
  readonly appSecret?: string;
}

/** A WhatsApp client for one flow: seals requests, signs them when an app secret is known, opens replies. */
export class WhatsAppClient {
  constructor(private readonly options: WhatsAppClientOptions) {}

  get url(): string {
    return `${this.options.baseUrl}/flows/${this.options.flowId}`;
  }

  async send(
    payload: unknown,
    overrides: { signature?: string | null; body?: string; headers?: Record<string, string> } = {},
  ): Promise<FlowReply> {
    const sealed = sealRequest(this.options.publicKeyPem, payload);
    const body = overrides.body ?? JSON.stringify(sealed.envelope);
    return this.post(body, sealed, overrides);
  }

  async post(
    body: string | Buffer,
    sealed: SealedRequest | undefined,
    overrides: { signature?: string | null; headers?: Record<string, string> } = {},
  ): Promise<FlowReply> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(overrides.headers ?? {}) };
    if (overrides.signature !== undefined) {
      if (overrides.signature !== null) headers['x-hub-signature-256'] = overrides.signature;
    } else if (this.options.appSecret) {
      headers['x-hub-signature-256'] =
        `sha256=${createHmac('sha256', this.options.appSecret).update(body).digest('hex')}`;
    }
    const res = await fetch(this.url, { method: 'POST', headers, body });
    const rawBody = await res.text();
    let json: Record<string, unknown> | undefined;
    if (sealed && rawBody && (res.status === 200 || res.status === 427)) {
      try {
        json = JSON.parse(openResponse(rawBody, sealed.aesKey, sealed.iv)) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, contentType: res.headers.get('content-type'), rawBody, json };
  }

  ping(): Promise<FlowReply> {
    return this.send({ version: '3.0', action: 'ping' });
  }

  init(flowToken: string): Promise<FlowReply> {
    return this.send({ version: '3.0', action: 'INIT', flow_token: flowToken, screen: '', data: {} });
  }

  exchange(flowToken: string, screen: string, data: Record<string, unknown>): Promise<FlowReply> {
    return this.send({ version: '3.0', action: 'data_exchange', flow_token: flowToken, screen, data });
  }

  back(flowToken: string, screen: string): Promise<FlowReply> {
    return this.send({ version: '3.0', action: 'BACK', flow_token: flowToken, screen, data: {} });
  }
}
