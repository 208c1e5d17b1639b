/**
 * Typed protocol errors. Their HTTP statuses live in one table, src/http/error-status.ts; the
 * README and SECURITY.md list every status, and a test keeps that list and this file in step.
 */
export abstract class ProtocolError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The envelope cannot be decrypted: bad base64, wrong key, key or IV length, GCM tag (src/protocol/NOTES.md, "Status codes"). */
export class CannotDecryptError extends ProtocolError {
  readonly code = 'cannot_decrypt';
  constructor(readonly reason: string) {
    super(`envelope cannot be decrypted (${reason})`);
  }
}

/** `X-Hub-Signature-256` missing, malformed or wrong (src/protocol/NOTES.md, "Request signature"). */
export class SignatureMismatchError extends ProtocolError {
  readonly code = 'signature_mismatch';
  constructor(readonly reason: 'missing' | 'mismatch') {
    super(`request signature ${reason}`);
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
  readonly code = 'flow_token_invalid';
  readonly userMessage: string;
  constructor(readonly reason: TokenRejection) {
    super(`flow token rejected (${reason})`);
    this.userMessage = TOKEN_MESSAGES[reason];
  }
}

export class PayloadTooLargeError extends ProtocolError {
  readonly code = 'payload_too_large';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends ProtocolError {
  readonly code = 'unsupported_media_type';
  constructor(readonly contentType: string | undefined) {
    super('request body must be application/json');
  }
}

/** Not a Flows request: bad JSON, missing envelope fields, or a decrypted payload that is not a request. */
export class MalformedRequestError extends ProtocolError {
  readonly code = 'malformed_request';
  constructor(readonly reason: string) {
    super(`malformed request (${reason})`);
  }
}

/**
 * A well-formed request from a screen this token's session cannot be on (a skipped screen, a
 * replayed step of an earlier path), or a completion without the screens the flow requires. A
 * WhatsApp client never sends one: it is refused, audited with its reason, and changes nothing.
 */
export class OutOfSequenceError extends ProtocolError {
  readonly code = 'out_of_sequence';
  constructor(readonly reason: string) {
    super(`request out of sequence (${reason})`);
  }
}

export class UnknownFlowError extends ProtocolError {
  readonly code = 'unknown_flow';
  constructor(readonly flowId: string) {
    super('no flow is registered at this URL');
  }
}

export class RateLimitedError extends ProtocolError {
  readonly code = 'rate_limited';
  constructor(readonly scope: 'failed_per_ip' | 'global') {
    super(`rate limited (${scope})`);
  }
}

/** The database (or another dependency) cannot serve the request now; answered fast, never hung. */
export class ServiceUnavailableError extends ProtocolError {
  readonly code = 'service_unavailable';
  constructor(readonly reason: string) {
    super(`service unavailable (${reason})`);
  }
}
