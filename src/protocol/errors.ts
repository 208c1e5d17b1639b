import { FlowgateError } from '../errors';

/**
 * Typed protocol errors: why a flow request is refused. Their HTTP statuses are their rows of the
 * error catalogue (src/errors/catalogue.ts), which the README and SECURITY.md list.
 */
export abstract class ProtocolError extends FlowgateError {}

/** The envelope cannot be decrypted: bad base64, wrong key, key or IV length, GCM tag (src/protocol/NOTES.md, "Status codes"). */
export class CannotDecryptError extends ProtocolError {
  constructor(readonly reason: string) {
    super('cannot_decrypt', `envelope cannot be decrypted (${reason})`);
  }
}

/** `X-Hub-Signature-256` missing, malformed or wrong (src/protocol/NOTES.md, "Request signature"). */
export class SignatureMismatchError extends ProtocolError {
  constructor(readonly reason: 'missing' | 'mismatch') {
    super('signature_mismatch', `request signature ${reason}`);
  }
}

export type TokenRejection =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'wrong_flow'
  | 'unknown'
  | 'completed'
  | 'revoked'
  // flow_token_signature (Data API 4.0, src/protocol/NOTES.md): answered like an invalid token.
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_algorithm'
  | 'signature_invalid'
  | 'signature_expired'
  | 'signature_mismatch';

const NOT_VALID = 'This form link is not valid. Please ask for a new one.';

const TOKEN_MESSAGES: Record<TokenRejection, string> = {
  missing: 'This form link is not valid. Please ask for a new one.',
  malformed: 'This form link is not valid. Please ask for a new one.',
  bad_signature: 'This form link is not valid. Please ask for a new one.',
  wrong_flow: 'This form link is not valid. Please ask for a new one.',
  unknown: 'This form link is not valid. Please ask for a new one.',
  expired: 'This form has expired. Please ask for a new one.',
  completed: 'You have already completed this form.',
  revoked: 'This form is no longer available.',
  signature_missing: NOT_VALID,
  signature_malformed: NOT_VALID,
  signature_algorithm: NOT_VALID,
  signature_invalid: NOT_VALID,
  signature_expired: NOT_VALID,
  signature_mismatch: NOT_VALID,
};

/** The flow token is invalid, expired, used or revoked: 427 closes the flow (src/protocol/NOTES.md, "Status codes" and "Flow token"). */
export class FlowTokenNoLongerValidError extends ProtocolError {
  readonly userMessage: string;
  constructor(readonly reason: TokenRejection) {
    super('flow_token_invalid', `flow token rejected (${reason})`);
    this.userMessage = TOKEN_MESSAGES[reason];
  }
}

export class PayloadTooLargeError extends ProtocolError {
  constructor(readonly limit: number) {
    super('payload_too_large', `request body exceeds ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends ProtocolError {
  constructor(readonly contentType: string | undefined) {
    super('unsupported_media_type', 'request body must be application/json');
  }
}

/** Not a Flows request: bad JSON, missing envelope fields, or a decrypted payload that is not a request. */
export class MalformedRequestError extends ProtocolError {
  constructor(readonly reason: string) {
    super('malformed_request', `malformed request (${reason})`);
  }
}

/**
 * A well-formed request from a screen this token's session cannot be on (a skipped screen, a
 * replayed step of an earlier path), or a completion without the screens the flow requires. A
 * WhatsApp client never sends one: it is refused, audited with its reason, and changes nothing.
 */
export class OutOfSequenceError extends ProtocolError {
  constructor(readonly reason: string) {
    super('out_of_sequence', `request out of sequence (${reason})`);
  }
}

export class UnknownFlowError extends ProtocolError {
  constructor(readonly flowId: string) {
    super('unknown_flow', 'no flow is registered at this URL');
  }
}

export class RateLimitedError extends ProtocolError {
  constructor(readonly scope: 'failed_per_ip' | 'global') {
    super('rate_limited', `rate limited (${scope})`);
  }
}

/** The database (or another dependency) cannot serve the request now; answered fast, never hung. */
export class ServiceUnavailableError extends ProtocolError {
  constructor(readonly reason: string) {
    super('service_unavailable', `service unavailable (${reason})`);
  }
}
