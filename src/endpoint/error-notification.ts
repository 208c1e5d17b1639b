import { createHmac, randomBytes } from 'node:crypto';
import { FlowTokenNoLongerValidError, type DecryptedRequest } from '../protocol';
import { countErrorNotification, type SqlQueryable } from '../storage';
import { subjectRef, tokenHash, type VerifiedToken } from '../tokens';
import type { Trace } from './request-trace';

/**
 * Error notifications: the WhatsApp client telling the endpoint that an earlier response was bad
 * (`data.error` or `data.error_key`, with `data.error_message`; any action). They are acknowledged
 * (`{"data":{"acknowledged":true}}`) and never reach developer code. Their text is free text the
 * client chose — it can carry a phone number, a name, control or bidi characters — so none of it is
 * kept: the audit event and the log line hold the error key only when it is one of Meta's
 * documented keys (else OTHER_KEY), the message's length, and a keyed hash of the message, so
 * repeats can be told apart and counted without the text.
 *
 * Meta's documented keys, from "Error codes" in the WhatsApp Flows reference
 * (https://developers.facebook.com/docs/whatsapp/flows/reference/error-codes) and the data endpoint
 * page (https://developers.facebook.com/docs/whatsapp/flows/guides/implementingyourflowendpoint):
 * the spelling `public-key-signiture-verification` is Meta's.
 */
export const KNOWN_ERROR_KEYS: ReadonlySet<string> = new Set([
  'timeout_error',
  'missing_capability',
  'cannot_be_served',
  'no_http_response_error',
  'unexpected_http_status_code',
  'public-key-missing',
  'public-key-signiture-verification',
  'response-decryption-error',
  'invalid-screen-transition',
  'payload-schema-error',
  'business-decryption-error',
]);

/** What is kept of an error key that is not one of Meta's documented keys. */
export const OTHER_KEY = '(other)';

/**
 * Notifications of one token audited and logged per minute, and over its life; past either, the
 * first one is audited as `rate_limited` and the rest are acknowledged without an audit event or
 * a log line (metrics still count them). A real client reports one error per bad response, so
 * these leave room for every genuine report while a replayed or scripted token cannot turn each
 * request into a permanent audit row. RATE_LIMIT_PER_TOKEN_PER_MINUTE lowers the per-minute one.
 */
export const NOTICES_PER_MINUTE = 10;
export const NOTICES_PER_TOKEN = 100;

export interface NoticeDeps {
  readonly sql: SqlQueryable;
  /** The key of the message hash; derived from SUBJECT_HASH_KEY (see noticeHashKey). */
  readonly hashKey: Buffer;
  readonly perTokenPerMinute?: number;
}

/** How a notification is answered: acknowledged, and whether it is audited (and as what). */
export interface NoticeDecision {
  /** `error_notification`, or `rate_limited` for the first past a limit. */
  readonly outcome: 'error_notification' | 'rate_limited';
  /** False: acknowledged without an audit event or a log line (past a limit). */
  readonly audited: boolean;
  /** The kept error key: a documented key, OTHER_KEY, or null when the notification had none. */
  readonly errorKey: string | null;
}

/**
 * The key for message hashes, derived from SUBJECT_HASH_KEY so it is never the subject key itself
 * (a message that is a phone number must not hash to that person's subject id). Without a key (a
 * dispatcher built without one, e.g. in a benchmark) a random one per process.
 */
export function noticeHashKey(subjectHashKey: string | undefined): Buffer {
  if (subjectHashKey === undefined) return randomBytes(32);
  return createHmac('sha256', subjectHashKey).update('flowgate/error-notification-message/v1').digest();
}

/**
 * Checks and counts one error notification of a genuine token (its signature verified). A token
 * that is unknown, of another flow, revoked or erased gets 427 (FlowTokenNoLongerValidError) —
 * audited only within the limits (`trace.unaudited` otherwise). A completed or expired token's
 * notifications are acknowledged: the client reports errors about responses it received before
 * completion or expiry, and WhatsApp gains nothing from a refusal; they are throttled like all.
 * Fills the trace (token and subject hashes, the kept detail).
 */
export async function assessNotification(
  deps: NoticeDeps,
  flowId: string,
  request: DecryptedRequest,
  verified: VerifiedToken,
  trace: Trace,
): Promise<NoticeDecision> {
  trace.tokenHash = tokenHash(verified.id);
  const data = (request.data ?? {}) as Record<string, unknown>;
  const rawKey = typeof data.error_key === 'string' ? data.error_key : data.error;
  const errorKey = typeof rawKey === 'string' ? (KNOWN_ERROR_KEYS.has(rawKey) ? rawKey : OTHER_KEY) : null;
  trace.noticeKey = errorKey;
  const counted = await countErrorNotification(deps.sql, verified.id);
  if (!counted) throw new FlowTokenNoLongerValidError('unknown');
  const salt = counted.subjectSalt;
  if (salt) trace.subjectRef = subjectRef(counted.subjectId, salt);
  const message = typeof data.error_message === 'string' ? data.error_message : undefined;
  trace.detail = {
    error_key: errorKey,
    error_message_length: message === undefined ? null : [...message].length,
    // Keyed by the derived key and the person's salt: erasure (which deletes the salt) leaves
    // hashes no one can test a guessed message against, as it does subject references.
    error_message_hash:
      message === undefined || !salt
        ? null
        : createHmac('sha256', deps.hashKey)
            .update(salt)
            .update(message, 'utf8')
            .digest()
            .subarray(0, 16)
            .toString('hex'),
  };
  const perMinute = Math.min(NOTICES_PER_MINUTE, deps.perTokenPerMinute ?? NOTICES_PER_MINUTE);
  const over = counted.inMinute > perMinute || counted.total > NOTICES_PER_TOKEN;
  const firstOver = over && (counted.inMinute === perMinute + 1 || counted.total === NOTICES_PER_TOKEN + 1);
  if (over) {
    trace.detail = { ...trace.detail, limit: 'error_notifications' };
    if (!firstOver) trace.unaudited = true;
  }
  if (counted.flowId !== flowId) throw new FlowTokenNoLongerValidError('wrong_flow');
  // Erased: the subject's tokens were revoked and unlinked; a completed one keeps its status.
  if (counted.status === 'revoked' || !salt) throw new FlowTokenNoLongerValidError('revoked');
  return { outcome: over ? 'rate_limited' : 'error_notification', audited: !trace.unaudited, errorKey };
}
