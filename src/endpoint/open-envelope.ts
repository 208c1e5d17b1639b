import type { KeyObject } from 'node:crypto';
import {
  decryptEnvelope,
  EnvelopeDecryptError,
  isValidHubSignature,
  type DecryptedEnvelope,
  type RsaTimeSink,
} from '../crypto';
import {
  CannotDecryptError,
  MalformedRequestError,
  SignatureMismatchError,
  isErrorNotification,
  parseJsonSafely,
  type DecryptedRequest,
} from '../protocol';
import { describeErrors, validateDecryptedRequest, validateEnvelope, validateErrorNotification } from '../validation';
import { auditableAction } from './data-api';
import type { Trace } from './request-trace';

export interface EnvelopeOpenerDeps {
  /** Current key first, then previous keys (rotation). */
  readonly privateKeys: readonly KeyObject[];
  /** Empty: signatures are not checked (development only; production requires a secret). */
  readonly appSecrets: readonly string[];
  /** Told the duration of every RSA private-key operation (metrics). */
  readonly rsaTime?: RsaTimeSink;
}

export interface OpenedEnvelope {
  readonly envelope: DecryptedEnvelope;
  readonly request: DecryptedRequest;
}

/**
 * Opening the envelope: the step between the raw bytes of a flow request and routing it. In this
 * order: the X-Hub-Signature-256 check over exactly the bytes received (432, before any RSA work),
 * the envelope's shape (400), its decryption (421), the decrypted request's schema (400). It knows
 * no flow's screens; the dispatcher (src/endpoint/dispatcher.ts) routes what it returns. Each
 * refusal is a typed error of src/protocol, which the dispatcher answers and audits.
 */
export class EnvelopeOpener {
  constructor(private readonly deps: EnvelopeOpenerDeps) {}

  /**
   * The decrypted envelope and its validated request. The trace records the envelope as soon as it
   * is open, so that a refusal of what it holds can still be answered encrypted, and the action.
   */
  open(body: Buffer, signature: string | undefined, trace: Trace): OpenedEnvelope {
    this.#checkSignature(body, signature);
    const envelope = this.#decrypt(body);
    trace.envelope = envelope;
    const request = parseRequest(envelope.plaintext);
    trace.action = auditableAction(request.action);
    return { envelope, request };
  }

  #checkSignature(body: Buffer, header: string | undefined): void {
    if (this.deps.appSecrets.length === 0) return;
    if (header === undefined) throw new SignatureMismatchError('missing');
    if (!isValidHubSignature(body, header, this.deps.appSecrets)) throw new SignatureMismatchError('mismatch');
  }

  #decrypt(body: Buffer): DecryptedEnvelope {
    let parsed: unknown;
    try {
      parsed = parseJsonSafely(body.toString('utf8'));
    } catch {
      throw new MalformedRequestError('body is not JSON');
    }
    if (!validateEnvelope(parsed))
      throw new MalformedRequestError(`envelope: ${describeErrors(validateEnvelope.errors)}`);
    try {
      return decryptEnvelope(parsed, this.deps.privateKeys, this.deps.rsaTime);
    } catch (err) {
      if (err instanceof EnvelopeDecryptError) throw new CannotDecryptError(err.reason);
      throw err;
    }
  }
}

function parseRequest(plaintext: Buffer): DecryptedRequest {
  let parsed: unknown;
  try {
    parsed = parseJsonSafely(plaintext.toString('utf8'));
  } catch {
    throw new MalformedRequestError('decrypted payload is not JSON');
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  // Error notifications come first: they may carry an action we would otherwise refuse (src/protocol/NOTES.md).
  if (isErrorNotification(data)) {
    if (!validateErrorNotification(parsed))
      throw new MalformedRequestError(`error notification: ${describeErrors(validateErrorNotification.errors)}`);
    return parsed as DecryptedRequest;
  }
  if (!validateDecryptedRequest(parsed))
    throw new MalformedRequestError(`request: ${describeErrors(validateDecryptedRequest.errors)}`);
  return parsed;
}
