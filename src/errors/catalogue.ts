/**
 * Every kind of error flowgate raises on purpose, by its stable code: the HTTP status it is
 * answered with (where a route maps errors generically), the exit code of a command that stops on
 * it, and whether its message may be shown to whoever caused it. Errors derive from FlowgateError
 * (src/errors/flowgate-error.ts) with one of these codes; the HTTP status map, the CLIs and
 * src/main.ts read this table instead of listing classes. README ("HTTP status codes") and
 * SECURITY.md ("Status codes") show the rows that carry a status; test/unit/docs-in-step.test.ts
 * keeps them in step.
 */
export interface ErrorEntry {
  /**
   * The status a route answers with. Absent: the error is not meant to reach a route, and one
   * that does is answered 500 like any bug.
   */
  readonly status?: number;
  /** Exit code of a command that stops on it: 2 is a usage mistake (the usage is printed), 1 a failure. */
  readonly exitCode: 1 | 2;
  /**
   * True when the message is written by flowgate from nothing the caller could not see anyway (no
   * submitted value, no phone number, no key): it may go into an HTTP error body or onto a
   * command's stderr. Otherwise only the code and `meaning` are shown.
   */
  readonly expose: boolean;
  /** What it means, for people: docs rows and the line shown instead of a message not exposed. */
  readonly meaning: string;
}

/** Exit code of a usage mistake (README "Commands"): the message and the usage go to stderr. */
export const EXIT_USAGE = 2;
/** Exit code of a command that ran but failed, and of anything unexpected. */
export const EXIT_FAILURE = 1;

const flowRequest = (status: number, meaning: string): ErrorEntry => ({ status, exitCode: 1, expose: false, meaning });
const operator = (meaning: string, exitCode: 1 | 2 = 1): ErrorEntry => ({ exitCode, expose: true, meaning });
const internal = (meaning: string): ErrorEntry => ({ exitCode: 1, expose: false, meaning });

export const ERROR_CATALOGUE = {
  // Answers of POST /flows/<flow-id>. Bodies are empty (427 aside: its `error_msg`), so none exposes its message.
  malformed_request: flowRequest(
    400,
    'Not a Flows request: invalid JSON, missing envelope fields, or a decrypted payload that is not a valid request.',
  ),
  out_of_sequence: flowRequest(
    400,
    'A data_exchange or BACK from a screen the session cannot be on, or a completion without its required screens; nothing is stored.',
  ),
  unknown_flow: flowRequest(404, 'No flow is registered at this URL.'),
  payload_too_large: flowRequest(413, 'Body larger than BODY_LIMIT_BYTES.'),
  unsupported_media_type: flowRequest(415, 'Body is not `application/json`.'),
  cannot_decrypt: flowRequest(
    421,
    'Envelope cannot be decrypted (bad base64, wrong key, key or IV length, GCM tag). WhatsApp refetches the public key and retries.',
  ),
  flow_token_invalid: flowRequest(
    427,
    'Flow token invalid, expired, completed or revoked; the flow closes with `error_msg`.',
  ),
  rate_limited: flowRequest(429, 'Too many rejected requests from one address, or the global ceiling was reached.'),
  signature_mismatch: flowRequest(432, '`X-Hub-Signature-256` missing, malformed or wrong.'),
  service_unavailable: flowRequest(
    503,
    'The database cannot be reached; answered within seconds, nothing half-written. Also when a request waited 5 s for earlier requests of the same flow token, or its session kept changing under it. WhatsApp retries.',
  ),
  handler_failed: flowRequest(
    500,
    'A handler failed during INIT, or where its screen cannot show the error: empty body; the log and audit event name flow and screen.',
  ),
  handler_timeout: flowRequest(
    500,
    'A handler ran past HANDLER_TIMEOUT_MS during INIT, or where its screen cannot show the error: empty body.',
  ),
  response_too_large: flowRequest(
    500,
    "A handler's encrypted answer exceeds WhatsApp's 1,000,000-byte data-channel limit: empty body.",
  ),
  internal_error: flowRequest(
    500,
    'A bug: empty body, a log line with the request id; never a stack, key or user data. Counted as a failed request of its address.',
  ),

  // The token and consent APIs answer these with `{"error": message}`: written without the value sent.
  invalid_phone_number: {
    status: 400,
    exitCode: 2,
    expose: true,
    meaning: 'Token and consent API: a phone number not in E.164 form (the value is not echoed).',
  },
  unknown_flow_id: {
    status: 400,
    exitCode: 1,
    expose: true,
    meaning: 'Token API: no flow with this `flow_id` is registered.',
  },
  invalid_ttl: {
    status: 400,
    exitCode: 1,
    expose: true,
    meaning: 'Token API: `ttl_seconds` is not a whole number from 60 to 7776000.',
  },

  // Commands and start-up: messages for the operator at the terminal.
  usage: operator('A command was called wrongly: the message and the usage are printed.', EXIT_USAGE),
  command_failed: operator('A command ran but could not do what was asked.'),
  devtool_failed: operator('A developer tool (keys, simulator, scaffolding, flow check) could not do what was asked.'),
  config_invalid: operator('The configuration is wrong: every problem, each naming its variable.'),
  private_key_unusable: operator('The flows private key cannot be read or used.'),
  tls_files_unusable: operator('The TLS certificate or key cannot be served.'),
  flow_registration_failed: operator('A flow cannot be served: every problem with flow, screen and path.'),
  schema_invalid: operator('A JSON Schema does not compile.'),
  database_in_use: operator('The embedded database is open in another process.'),
  invalid_actor: operator('`--operator` or `--reason` is missing, too long, or looks like personal data.', EXIT_USAGE),
  submission_not_found: operator('No submission has this id.'),
  undecryptable: operator('A stored row cannot be decrypted with SUBMISSION_KEYS (names the row and the key).'),
  at_rest_decrypt_failed: operator('A stored value does not open with the keyring.'),
  audit_write_timeout: operator('An audit event was not committed in time.'),
  console_user_invalid: operator('A console user name is not acceptable, or the user does not exist.'),
  weak_password: operator('A console password is too short or too long.'),
  hook_timeout: operator('A completion hook did not finish in time.'),

  // Raised inside a request and turned into one of the answers above before it leaves.
  envelope_decrypt_failed: internal('The envelope cannot be decrypted (answered as cannot_decrypt).'),
  unsafe_json: internal('JSON with a prototype key or nested too deeply (answered as malformed_request).'),
  handler_contract: internal('A handler called a result builder in a way the protocol cannot express.'),
  token_queue_wait: internal('A request waited too long for earlier requests of its flow token (answered 503).'),
  session_changed: internal('The session changed between read and write; the request runs again.'),

  // Picker files (README "Media"): a handler gets the error with a userMessage to show on the screen.
  media_invalid: internal('The media object is not shaped as WhatsApp sends it (fields, base64, lengths, https URL).'),
  media_not_in_request: internal("The object is not one of the files in this request's picker values."),
  media_limit: internal('More files than the picker or MEDIA_MAX_FILES allows.'),
  media_host_not_allowed: internal(
    'The cdn_url is not https on a host of MEDIA_ALLOWED_HOSTS (or loopback outside production).',
  ),
  media_redirect_refused: internal('The CDN answered with a redirect to another host (or too many redirects).'),
  media_download_failed: internal('The CDN could not be reached or did not answer 200.'),
  media_timeout: internal(
    'Connecting took longer than MEDIA_CONNECT_TIMEOUT_MS or the download longer than MEDIA_DOWNLOAD_TIMEOUT_MS.',
  ),
  media_too_large: internal("The download exceeds MEDIA_MAX_FILE_BYTES or the picker's max-file-size-kb."),
  media_hash_mismatch: internal('SHA-256 of the downloaded file differs from encrypted_hash.'),
  media_hmac_mismatch: internal(
    'HMAC-SHA256(hmac_key, iv ‖ ciphertext)[0:10] differs from the last 10 bytes of the file.',
  ),
  media_decrypt_failed: internal('AES-256-CBC decryption or its PKCS#7 padding failed.'),
  media_plaintext_mismatch: internal('SHA-256 of the decrypted file differs from plaintext_hash.'),
  media_type_not_allowed: internal(
    "The file's content is not one of the picker's allowed-mime-types (photos: images only).",
  ),
  media_unavailable: internal('The media helper is not configured for this request (no storage).'),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The code of anything thrown that is not a FlowgateError: a bug, answered 500 without detail. */
export const UNKNOWN_ERROR_CODE = 'internal_error' satisfies ErrorCode;

export function entryOf(code: ErrorCode): ErrorEntry {
  return ERROR_CATALOGUE[code];
}
