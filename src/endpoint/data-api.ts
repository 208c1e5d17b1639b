import { compareVersions, type FlowModel } from '../flow-json';
import type { Logger } from '../logging';
import {
  FlowTokenNoLongerValidError,
  MalformedRequestError,
  isFlowAction,
  isKnownDataApiVersion,
  type DecryptedRequest,
} from '../protocol';
import type { FlowTokenSignatureVerifier } from '../tokens';
import { FlowgateError } from '../errors';

/**
 * What Data API 4.0 adds to a request's way through the dispatcher (src/protocol/NOTES.md, "Data
 * API 4.0"): known versions, routable actions, the `flow_token_signature`, the version echoed in
 * every response, and the 1 MB response limit. Pure helpers; the dispatcher calls them in order.
 */

/**
 * `required`: a flow whose Flow JSON declares data_api_version 4.0 and version ≥ 7.3 must send a
 * signature (default in production). `verify`: a signature is checked when present. In both, a
 * signature that is present is always verified.
 */
export type TokenSignaturePolicy = 'required' | 'verify';

/** The smallest Flow JSON version whose 4.0 requests carry `flow_token_signature`. */
const SIGNING_FLOW_JSON_VERSION = '7.3';

/** Meta's data-channel limit, read strictly: 1,000,000 bytes of encrypted (base64) body. */
export const MAX_RESPONSE_BYTES = 1_000_000;
/** AES-GCM appends a 16-byte tag; the body is its base64. */
const GCM_TAG_BYTES = 16;

/** A handler's answer too large for WhatsApp's data channel: a developer error, answered 500. */
export class ResponseTooLargeError extends FlowgateError {
  readonly outcome = 'response_too_large';
  constructor(readonly bytes: number) {
    super(
      'response_too_large',
      `encrypted response of ${bytes} bytes exceeds the ${MAX_RESPONSE_BYTES}-byte data-channel limit`,
    );
  }
}

/** True for a flow whose requests carry `flow_token_signature` (Data API 4.0 with Flow JSON ≥ 7.3). */
export function sendsTokenSignature(model: FlowModel): boolean {
  return model.dataApiVersion === '4.0' && compareVersions(model.version, SIGNING_FLOW_JSON_VERSION) >= 0;
}

/** The action as it may be audited and counted: a known one, else `unknown` (client text stays out). */
export function auditableAction(action: unknown): string {
  return isFlowAction(action) ? action : 'unknown';
}

/** Refuses (400) a non-ping request whose version flowgate does not serve. */
export function assertKnownVersion(request: DecryptedRequest, logger: Logger, requestId: string): void {
  if (isKnownDataApiVersion(request.version)) return;
  const shown = /^\d{1,3}\.\d{1,3}$/.test(request.version) ? request.version : '(unrecognised)';
  logger.warn('request refused: unsupported data API version (flowgate serves 3.0 and 4.0)', {
    version: shown,
    requestId,
  });
  throw new MalformedRequestError(`unsupported data API version ${shown}`);
}

/**
 * Action names a client might plausibly send that flowgate does not route: named in the log and
 * audit. Any other value is client text and stays out (it could be anything a person typed).
 */
const NAMED_UNROUTED_ACTIONS: ReadonlySet<string> = new Set(['navigate', 'complete', 'update_data', 'open_url']);

/** Refuses (400) an action flowgate does not route, e.g. one a future client sends. */
export function assertRoutableAction(request: DecryptedRequest, logger: Logger, requestId: string): void {
  if (isFlowAction(request.action)) return;
  const raw = String(request.action);
  const shown = NAMED_UNROUTED_ACTIONS.has(raw) ? raw : '(unrecognised)';
  logger.warn('request refused: unknown action (flowgate routes ping, INIT, BACK, data_exchange)', {
    action: shown,
    requestId,
  });
  throw new MalformedRequestError(`unknown action ${shown}`);
}

/**
 * Checks `flow_token_signature` after the flow token itself verified. Present: always verified
 * (when an app secret is configured). Absent: refused when the policy requires it and the flow's
 * Flow JSON says the client signs. Failures are 427, like an invalid token, with their reason.
 */
export async function checkTokenSignature(
  model: FlowModel,
  request: DecryptedRequest,
  verifier: FlowTokenSignatureVerifier,
  policy: TokenSignaturePolicy,
): Promise<void> {
  const signature = request.flow_token_signature;
  if (signature === undefined) {
    if (policy === 'required' && sendsTokenSignature(model)) {
      throw new FlowTokenNoLongerValidError('signature_missing');
    }
    return;
  }
  // No app secret (development only, refused with `required` at start): nothing to verify with.
  if (!verifier.configured) return;
  const rejection = await verifier.check(signature, request.flow_token);
  if (rejection) throw new FlowTokenNoLongerValidError(rejection);
}

/**
 * The response with the request's `version` first. Every response kind echoes it, as pywa and
 * integrators do (src/protocol/NOTES.md): a 4.0 request never gets a 3.0 answer.
 */
export function withVersion(json: unknown, version: unknown): unknown {
  if (typeof version !== 'string' || json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  return { version, ...(json as Record<string, unknown>) };
}

/** Bytes of the encrypted body a plaintext of `plaintextBytes` bytes becomes (base64 of ciphertext + tag). */
export function encryptedBodyBytes(plaintextBytes: number): number {
  return 4 * Math.ceil((plaintextBytes + GCM_TAG_BYTES) / 3);
}

/** Throws ResponseTooLargeError when the response, version echoed, would exceed the limit once encrypted. */
export function assertResponseFits(json: unknown, version: unknown): void {
  const bytes = encryptedBodyBytes(Buffer.byteLength(JSON.stringify(withVersion(json, version)), 'utf8'));
  if (bytes > MAX_RESPONSE_BYTES) throw new ResponseTooLargeError(bytes);
}
