import forge from 'node-forge';
import { createHmac } from 'node:crypto';

/**
 * Plays WhatsApp's side of the protocol with node-forge — an implementation independent of the
 * node:crypto code under test (src/ARCHITECTURE.md, rule 10): RSA-OAEP with SHA-256 for OAEP and MGF1,
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

/** Opens a response body: AES-GCM under the request's key with every IV bit inverted (src/protocol/NOTES.md, "Envelope encryption"). */
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
  /** The service's X-Request-Id (the key of the request's audit event). */
  readonly requestId?: string | null;
  /** The decrypted JSON, when the body was an encrypted response. */
  readonly json: Record<string, unknown> | undefined;
}

/** base64url without padding, over a forge binary string. */
function base64url(bytes: string): string {
  return forge.util.encode64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface TokenSignatureOptions {
  /** The header's alg (default HS256); the MAC is HMAC-SHA256 whatever it says, or none for "none". */
  readonly alg?: string;
  /** Claims; default `{ flow_token }`. */
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
}

/**
 * Signs a `flow_token_signature` as WhatsApp does for Data API 4.0 (src/protocol/NOTES.md): a
 * compact JWS, HMAC-SHA256 keyed with the app secret, over `{ flow_token }`. Written with
 * node-forge's HMAC, independent of the jose code under test. `alg: 'none'` leaves the
 * signature part empty; any other alg is written into the header as given.
 */
export function signFlowToken(flowToken: string, appSecret: string, options: TokenSignatureOptions = {}): string {
  const header = { alg: options.alg ?? 'HS256', typ: 'JWT', ...(options.header ?? {}) };
  const claims = options.claims ?? { flow_token: flowToken };
  const input = `${base64url(forge.util.encodeUtf8(JSON.stringify(header)))}.${base64url(
    forge.util.encodeUtf8(JSON.stringify(claims)),
  )}`;
  if (header.alg === 'none') return `${input}.`;
  const hmac = forge.hmac.create();
  hmac.start('sha256', forge.util.encodeUtf8(appSecret));
  hmac.update(input);
  return `${input}.${base64url(hmac.digest().getBytes())}`;
}

export interface WhatsAppClientOptions {
  readonly baseUrl: string;
  readonly flowId: string;
  readonly publicKeyPem: string;
  readonly appSecret?: string;
  /** The data API version sent in every request (default "3.0"). */
  readonly version?: string;
  /**
   * Data API 4.0's flow_token_signature on every non-ping request: `true` signs with appSecret
   * (the default when version is 4.0 and an app secret is known), `false` sends none, a function
   * gives the signature for a token (forged ones in tests).
   */
  readonly tokenSignature?: boolean | ((flowToken: string) => string | undefined);
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
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      rawBody,
      requestId: res.headers.get('x-request-id'),
      json,
    };
  }

  get version(): string {
    return this.options.version ?? '3.0';
  }

  /** The signature this client adds for `flowToken`, or undefined. */
  signatureFor(flowToken: string): string | undefined {
    const { tokenSignature, appSecret } = this.options;
    if (typeof tokenSignature === 'function') return tokenSignature(flowToken);
    const sign = tokenSignature ?? (this.version === '4.0' && appSecret !== undefined);
    return sign && appSecret !== undefined ? signFlowToken(flowToken, appSecret) : undefined;
  }

  /** A non-ping request as this client's WhatsApp sends it: version, and the signature on 4.0. */
  request(action: string, flowToken: string, screen: string, data: Record<string, unknown>): Record<string, unknown> {
    const signature = this.signatureFor(flowToken);
    return {
      version: this.version,
      action,
      flow_token: flowToken,
      screen,
      data,
      ...(signature === undefined ? {} : { flow_token_signature: signature }),
    };
  }

  ping(): Promise<FlowReply> {
    return this.send({ version: this.version, action: 'ping' });
  }

  init(flowToken: string): Promise<FlowReply> {
    return this.send(this.request('INIT', flowToken, '', {}));
  }

  exchange(flowToken: string, screen: string, data: Record<string, unknown>): Promise<FlowReply> {
    return this.send(this.request('data_exchange', flowToken, screen, data));
  }

  back(flowToken: string, screen: string): Promise<FlowReply> {
    return this.send(this.request('BACK', flowToken, screen, {}));
  }
}
