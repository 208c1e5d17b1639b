import {
  CannotDecryptError,
  FlowTokenNoLongerValidError,
  MalformedRequestError,
  OutOfSequenceError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  SignatureMismatchError,
  UnknownFlowError,
  UnsupportedMediaTypeError,
} from '../protocol';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * THE mapping from typed errors to HTTP statuses. Anything not listed is a
 * 500 with an empty body and a log line carrying the request id. README and SECURITY.md list the
 * same table; test/unit/docs-in-step.test.ts keeps them in step.
 */
export const ERROR_STATUS: readonly {
  readonly error: ErrorClass;
  readonly status: number;
  readonly meaning: string;
}[] = [
  {
    error: MalformedRequestError,
    status: 400,
    meaning:
      'Not a Flows request: invalid JSON, missing envelope fields, or a decrypted payload that is not a valid request.',
  },
  {
    error: OutOfSequenceError,
    status: 400,
    meaning:
      'A data_exchange or BACK from a screen this session cannot be on (a skipped screen), or a completion without the screens the flow requires; nothing is stored.',
  },
  { error: UnknownFlowError, status: 404, meaning: 'No flow is registered at this URL.' },
  { error: PayloadTooLargeError, status: 413, meaning: 'Body larger than BODY_LIMIT_BYTES.' },
  { error: UnsupportedMediaTypeError, status: 415, meaning: 'Body is not `application/json`.' },
  {
    error: CannotDecryptError,
    status: 421,
    meaning:
      'Envelope cannot be decrypted (bad base64, wrong key, key or IV length, GCM tag). WhatsApp refetches the public key and retries.',
  },
  {
    error: FlowTokenNoLongerValidError,
    status: 427,
    meaning: 'Flow token invalid, expired, completed or revoked; the flow closes with `error_msg`.',
  },
  {
    error: RateLimitedError,
    status: 429,
    meaning: 'Too many rejected requests from one address, or the global ceiling was reached.',
  },
  { error: SignatureMismatchError, status: 432, meaning: '`X-Hub-Signature-256` missing, malformed or wrong.' },
  {
    error: ServiceUnavailableError,
    status: 503,
    meaning: 'The database cannot be reached; answered within seconds, nothing half-written.',
  },
];

export function statusOf(error: unknown): number {
  for (const entry of ERROR_STATUS) if (error instanceof entry.error) return entry.status;
  return 500;
}
