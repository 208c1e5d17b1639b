import { createHash, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { AuditLog } from '../audit';
import { isValidHubSignature, type AtRestCipher } from '../crypto';
import { isDatabaseUnavailable } from '../storage/database-errors';
import { errorSummary, type Logger } from '../logging';
import type { WebhookMetrics } from '../metrics';
import { parseJsonSafely } from '../protocol';
import type { FlowTokenCodec } from '../tokens';
import { describeErrors } from '../validation';
import { CompletionHooks } from './completion-hooks';
import { CompletionStore, type ReplyResult } from './completion-store';
import { FlowAlerts } from './flow-alerts';
import { forgetOldDeliveries } from './message-ids';
import type { WebhookRegistry } from './registrations';
import {
  isFlowReply,
  validateFlowAlert,
  validateFlowReply,
  validateMessage,
  validateNotification,
  type FlowReplyMessage,
  type Notification,
} from './schemas';

export interface WebhookReceiverDeps {
  readonly knex: Knex;
  readonly audit: AuditLog;
  readonly cipher: AtRestCipher;
  readonly codec: FlowTokenCodec;
  readonly flows: WebhookRegistry;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly subjectHashKey: string;
  /** Empty: signatures are not checked (development only; production requires META_APP_SECRET). */
  readonly appSecrets: readonly string[];
  readonly verifyToken: string | undefined;
  readonly hookTimeoutMs: number;
}

/** One webhook POST as the edge read it. */
export interface WebhookPost {
  readonly rawBody: Buffer;
  readonly signature: string | undefined;
  readonly requestId: string;
  /** Set when the edge could not read the body: it is refused with this outcome and status. */
  readonly edgeError?: {
    readonly outcome: 'too_large' | 'unsupported_media_type' | 'unreadable';
    readonly status: number;
  };
}

export interface WebhookAnswer {
  readonly status: number;
  readonly contentType: 'text/plain';
  readonly body: string;
}

const answer = (status: number, body = ''): WebhookAnswer => ({ status, contentType: 'text/plain', body });

/** What Meta sends as `hub.challenge` (a number); anything else is not echoed. */
const CHALLENGE = /^[A-Za-z0-9_-]{1,128}$/;

/** How often a process deletes deduplication rows past their use (on a delivery, never on a timer). */
const FORGET_EVERY_MS = 3_600_000;

/**
 * The pure core of the WhatsApp Business webhook: raw bytes and headers in, status and body out.
 * A POST is answered 401 (no X-Hub-Signature-256) or 403 (wrong signature) before its bytes are
 * parsed, 400 when it is not a notification, 200 once every update in it is handled — durably:
 * a 200 tells WhatsApp not to redeliver — and 503 when the database is unavailable, so WhatsApp
 * retries (deduplication makes that safe). Refusals are audited; bad input never gets a 5xx.
 */
export class WebhookReceiver {
  readonly #store: CompletionStore;
  readonly #hooks: CompletionHooks;
  readonly alerts: FlowAlerts;
  #forgotAt = 0;

  constructor(private readonly deps: WebhookReceiverDeps) {
    this.#store = new CompletionStore(deps);
    this.#hooks = new CompletionHooks({ ...deps, timeoutMs: deps.hookTimeoutMs });
    this.alerts = new FlowAlerts(deps);
  }

  /** The subscription handshake: `hub.challenge` back, as text, only for the right verify token. */
  verify(query: Readonly<Record<string, unknown>>): WebhookAnswer {
    const mode = query['hub.mode'];
    const token = query['hub.verify_token'];
    const challenge = query['hub.challenge'];
    const expected = this.deps.verifyToken;
    const ok =
      expected !== undefined &&
      mode === 'subscribe' &&
      typeof token === 'string' &&
      sameSecret(token, expected) &&
      typeof challenge === 'string' &&
      CHALLENGE.test(challenge);
    this.deps.metrics.deliveries.inc({ outcome: ok ? 'verified' : 'verify_refused', status: ok ? 200 : 403 });
    if (!ok) {
      this.deps.logger.warn('webhook verification refused', {
        mode: typeof mode === 'string' ? mode.slice(0, 20) : undefined,
        configured: expected !== undefined,
      });
      return answer(403);
    }
    this.deps.logger.info('webhook verified by the subscription handshake');
    return answer(200, challenge);
  }

  async receive(post: WebhookPost): Promise<WebhookAnswer> {
    if (post.edgeError) return this.#refuse(post, post.edgeError.outcome, post.edgeError.status);
    if (this.deps.appSecrets.length > 0) {
      if (post.signature === undefined) return this.#refuse(post, 'signature_missing', 401);
      if (!isValidHubSignature(post.rawBody, post.signature, this.deps.appSecrets)) {
        return this.#refuse(post, 'signature_mismatch', 403);
      }
    }
    let parsed: unknown;
    try {
      parsed = parseJsonSafely(post.rawBody.toString('utf8'));
    } catch {
      return this.#refuse(post, 'malformed', 400, 'body is not JSON');
    }
    if (!validateNotification(parsed)) {
      return this.#refuse(post, 'malformed', 400, describeErrors(validateNotification.errors));
    }
    try {
      await this.#handle(parsed, post.requestId);
    } catch (err) {
      const unavailable = isDatabaseUnavailable(err);
      this.deps.logger.error('webhook notification not handled; WhatsApp will redeliver it', {
        requestId: post.requestId,
        error: errorSummary(err),
      });
      this.deps.metrics.deliveries.inc({ outcome: unavailable ? 'unavailable' : 'failed', status: 503 });
      return answer(503);
    }
    this.deps.metrics.deliveries.inc({ outcome: 'accepted', status: 200 });
    this.#forgetOldDeliveries();
    return answer(200);
  }

  async #handle(notification: Notification, requestId: string): Promise<void> {
    const hooks: Promise<unknown>[] = [];
    for (const entry of notification.entry) {
      for (const change of entry.changes) {
        if (notification.object !== 'whatsapp_business_account') {
          this.deps.metrics.messages.inc({ kind: 'other_object', outcome: 'ignored' });
        } else if (change.field === 'messages') {
          await this.#messages(change.value, requestId, hooks);
        } else if (change.field === 'flows') {
          await this.#alert(change.value, entry.time, requestId);
        } else {
          this.deps.metrics.messages.inc({ kind: 'other_field', outcome: 'ignored' });
        }
      }
    }
    // Hooks run after every reply of the delivery is stored, side by side, each bounded.
    await Promise.all(hooks);
  }

  async #messages(value: Record<string, unknown>, requestId: string, hooks: Promise<unknown>[]): Promise<void> {
    const messages = Array.isArray(value.messages) ? (value.messages as unknown[]) : [];
    if (Array.isArray(value.statuses)) {
      this.deps.metrics.messages.inc({ kind: 'status', outcome: 'ignored' }, value.statuses.length);
    }
    for (const message of messages) {
      if (!isFlowReply(message)) {
        // Not a flow reply: acknowledged and counted, never stored or logged (it is someone's message).
        const type = validateMessage(message) ? messageKind(message.type) : 'invalid';
        this.deps.metrics.messages.inc({ kind: type, outcome: 'ignored' });
        continue;
      }
      if (!validateFlowReply(message)) {
        this.deps.metrics.messages.inc({ kind: 'nfm_reply', outcome: 'invalid' });
        this.deps.logger.warn('completion reply with an unexpected shape ignored', {
          requestId,
          problems: describeErrors(validateFlowReply.errors),
        });
        continue;
      }
      const result = await this.#store.handle(message as FlowReplyMessage, requestId);
      this.deps.metrics.messages.inc({ kind: 'nfm_reply', outcome: result.outcome });
      this.#logReply(result, requestId);
      if (result.stored) hooks.push(this.#hooks.run(result.stored, requestId));
      else if (result.unfinishedHook) {
        // The reply is stored: a hook that cannot be resumed (an undecryptable row, say) is logged,
        // never a reason to refuse the delivery (WhatsApp would redeliver it for 36 hours).
        const resumed = this.#hooks.resume(result.unfinishedHook, requestId).catch((err: unknown) => {
          this.deps.logger.warn('onComplete could not be resumed', { requestId, error: errorSummary(err) });
        });
        hooks.push(resumed);
      }
    }
  }

  #logReply(result: ReplyResult, requestId: string): void {
    const flowId = result.stored?.flow.flow.id;
    if (result.outcome === 'stored') this.deps.logger.info('completion reply stored', { requestId, flowId });
    else if (result.outcome === 'duplicate')
      this.deps.logger.info('completion reply redelivered; already handled', { requestId });
    else this.deps.logger.warn('completion reply not stored', { requestId, outcome: result.outcome });
  }

  async #alert(value: Record<string, unknown>, entryTime: number | undefined, requestId: string): Promise<void> {
    if (!validateFlowAlert(value)) {
      this.deps.metrics.messages.inc({ kind: 'flow_alert', outcome: 'invalid' });
      this.deps.logger.warn('flow alert with an unexpected shape ignored', {
        requestId,
        problems: describeErrors(validateFlowAlert.errors),
      });
      return;
    }
    await this.alerts.handle(value, entryTime, requestId);
  }

  async #refuse(post: WebhookPost, outcome: string, status: number, reason?: string): Promise<WebhookAnswer> {
    this.deps.metrics.deliveries.inc({ outcome, status });
    this.deps.logger.info('webhook notification refused', { requestId: post.requestId, outcome, status });
    try {
      await this.deps.audit.append({
        occurredAt: new Date(),
        kind: 'request',
        requestId: post.requestId,
        action: 'webhook',
        outcome: `webhook_${outcome}`,
        httpStatus: status,
        detail: reason ? { reason: reason.slice(0, 200) } : undefined,
      });
    } catch {
      // Already logged by the audit writer; the refusal stands (it stores nothing).
    }
    return answer(status);
  }

  #forgetOldDeliveries(): void {
    const now = Date.now();
    if (now - this.#forgotAt < FORGET_EVERY_MS) return;
    this.#forgotAt = now;
    forgetOldDeliveries(this.deps.knex).catch((err: unknown) =>
      this.deps.logger.warn('old webhook deliveries not deleted', { error: errorSummary(err) }),
    );
  }
}

const KNOWN_TYPES = new Set([
  'text',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'order',
  'system',
  'unsupported',
]);

function messageKind(type: string | undefined): string {
  return type && KNOWN_TYPES.has(type) ? type : 'other';
}

/** Constant-time comparison of two secrets of any length (hashed to 32 bytes first). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
