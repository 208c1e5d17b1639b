import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { AuditEvent, AuditLog } from '../audit';
import type { AtRestCipher } from '../crypto';
import { submissionAad } from '../endpoint';
import { FlowTokenNoLongerValidError, parseJsonSafely } from '../protocol';
import { toBuffer, toDate } from '../storage';
import { normalizePhoneNumber, subjectOf, subjectRef, tokenHash, type FlowTokenCodec } from '../tokens';
import { tokenIdOf } from '../tokens/token-service';
import { messageHash, tokenOfSentMessage } from './message-ids';
import { redactReply, type WebhookFlow, type WebhookRegistry } from './registrations';
import type { FlowReplyMessage } from './schemas';

export interface CompletionStoreDeps {
  readonly knex: Knex;
  readonly audit: AuditLog;
  readonly cipher: AtRestCipher;
  readonly codec: FlowTokenCodec;
  readonly flows: WebhookRegistry;
  readonly subjectHashKey: string;
}

/** What became of one completion reply. */
export type ReplyOutcome =
  'stored' | 'duplicate' | 'malformed' | 'unlinked' | 'token_completed' | 'token_revoked' | 'token_expired';

/** A reply stored by this delivery whose flow has an onComplete hook to run. */
export interface StoredReply {
  readonly flow: WebhookFlow;
  readonly messageHash: string;
  readonly tokenId: string;
  readonly subject: string;
  readonly submissionId: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly linkedBy: 'flow_token' | 'context_id';
}

export interface ReplyResult {
  readonly outcome: ReplyOutcome;
  /** Set when the reply was stored just now. */
  readonly stored?: StoredReply;
  /** A duplicate whose hook never finished (the process stopped): the caller may run it again. */
  readonly unfinishedHook?: UnfinishedHook;
}

export interface UnfinishedHook {
  readonly messageHash: string;
  readonly submissionId: string;
  readonly receivedAt: Date;
  readonly linkedBy: 'flow_token' | 'context_id';
}

/** Clock difference tolerated between WhatsApp's message timestamp and a token's expiry. */
const EXPIRY_TOLERANCE_MS = 5 * 60_000;

interface Link {
  readonly tokenId: string;
  readonly linkedBy: 'flow_token' | 'context_id';
}

/**
 * One completion reply (`nfm_reply`), end to end: parse `response_json`, find its flow token (the
 * reply's `flow_token`, checked like any token, or the recorded id of the flow message it answers),
 * then in ONE transaction — remember the message id (a redelivery stops here: nothing is stored
 * twice), complete the token (locked first, in erasure's lock order), store the reply encrypted as
 * a submission of the token's subject, and append the audit event. A reply that cannot be linked
 * or whose token is no longer active is remembered and audited, never stored.
 */
export class CompletionStore {
  constructor(private readonly deps: CompletionStoreDeps) {}

  async handle(message: FlowReplyMessage, requestId: string): Promise<ReplyResult> {
    const hash = messageHash(message.id);
    const data = parseReply(message.interactive.nfm_reply.response_json);
    if (!data) return this.#remember(hash, 'malformed', requestId, {}, undefined);
    const flowToken = data.flow_token;
    const { flow_token: _dropped, ...answers } = data;
    const sentAt = message.timestamp ? new Date(Number(message.timestamp) * 1000) : new Date();
    const link = await this.#link(flowToken, message.context?.id);
    if ('reason' in link) return this.#remember(hash, 'unlinked', requestId, { reason: link.reason }, undefined);

    return this.deps.knex.transaction(async (trx) => {
      if (!(await claim(trx, hash))) return this.#duplicate(trx, hash);
      const token = (await trx('flow_tokens').where({ id: link.tokenId }).forUpdate().first()) as
        Record<string, unknown> | undefined;
      if (!token) return this.#record(trx, hash, 'unlinked', requestId, { reason: 'unknown_token' });
      const flowId = String(token.flow_id);
      const flow = this.deps.flows.flows.get(flowId);
      const tokenFacts = { flowId, tokenId: link.tokenId };
      const status = String(token.status);
      if (!flow) return this.#record(trx, hash, 'unlinked', requestId, { reason: 'unknown_flow' }, tokenFacts);
      if (status === 'completed' || status === 'revoked') {
        return this.#record(trx, hash, `token_${status}`, requestId, {}, tokenFacts);
      }
      if (toDate(token.expires_at).getTime() + EXPIRY_TOLERANCE_MS < sentAt.getTime()) {
        return this.#record(trx, hash, 'token_expired', requestId, {}, tokenFacts);
      }
      const subjectId = String(token.subject_id);
      await trx('flow_tokens').where({ id: link.tokenId }).update({ status: 'completed', completed_at: trx.fn.now() });
      const submissionId = randomUUID();
      const sealed = this.deps.cipher.seal(
        JSON.stringify(answers),
        submissionAad(flowId, link.tokenId, subjectId, submissionId),
      );
      await trx('submissions').insert({
        id: submissionId,
        flow_id: flowId,
        token_id: link.tokenId,
        subject_id: subjectId,
        key_id: sealed.keyId,
        ciphertext: sealed.blob,
        field_names: JSON.stringify(fieldNamesOf(flow, answers)),
      });
      const hasHook = typeof flow.flow.definition.onComplete === 'function';
      await trx('webhook_messages')
        .where({ message_hash: hash })
        .update({
          outcome: 'stored',
          flow_id: flowId,
          token_id: link.tokenId,
          submission_id: submissionId,
          linked_by: link.linkedBy,
          hook_status: hasHook ? 'pending' : null,
        });
      const salt = (await trx('subjects').where({ subject_id: subjectId }).first('salt')) as
        { salt: unknown } | undefined;
      await this.deps.audit.appendInTransaction(
        trx,
        this.#event(requestId, 'completion_reply_stored', {
          flowId,
          tokenId: link.tokenId,
          subjectRef: salt ? subjectRef(subjectId, toBuffer(salt.salt)) : undefined,
          fields: redactReply(flow, answers),
          detail: {
            via: 'webhook',
            linked_by: link.linkedBy,
            sender_matches: this.#senderMatches(message.from, subjectId),
          },
        }),
      );
      const stored: StoredReply = {
        flow,
        messageHash: hash,
        tokenId: link.tokenId,
        subject: subjectId,
        submissionId,
        data: Object.freeze(answers),
        linkedBy: link.linkedBy,
      };
      return { outcome: 'stored', stored } satisfies ReplyResult;
    });
  }

  /**
   * The reply's token: `flow_token` verified like the endpoint verifies it (signature, flow), except
   * that an expired token still links — WhatsApp may redeliver a reply for 36 hours; the message's own
   * timestamp is checked against the expiry instead. Without `flow_token`, the flow message it
   * answers (`context.id`) if the business recorded it.
   */
  async #link(flowToken: unknown, contextId: string | undefined): Promise<Link | { reason: string }> {
    if (typeof flowToken === 'string' && flowToken !== '') {
      const tokenId = tokenIdOf(flowToken);
      if (!/^[0-9a-f]{24}$/.test(tokenId)) return { reason: 'malformed_token' };
      const row = (await this.deps.knex('flow_tokens').where({ id: tokenId }).first('flow_id')) as
        { flow_id: unknown } | undefined;
      if (!row) return { reason: 'unknown_token' };
      try {
        await this.deps.codec.verify(flowToken, String(row.flow_id));
      } catch (err) {
        // jose checks the signature before the expiry: an expired token here is a genuine one.
        if (!(err instanceof FlowTokenNoLongerValidError && err.reason === 'expired')) {
          return { reason: err instanceof FlowTokenNoLongerValidError ? `token_${err.reason}` : 'bad_token' };
        }
      }
      return { tokenId, linkedBy: 'flow_token' };
    }
    if (contextId) {
      const tokenId = await tokenOfSentMessage(this.deps.knex, contextId);
      return tokenId ? { tokenId, linkedBy: 'context_id' } : { reason: 'unknown_context_id' };
    }
    return { reason: 'no_flow_token' };
  }

  /** The sender's number against the token's subject, as a yes/no for the audit log (never the number). */
  #senderMatches(from: string | undefined, subjectId: string): boolean | null {
    if (!from) return null;
    try {
      return subjectOf(normalizePhoneNumber(`+${from.replace(/^\+/, '')}`), this.deps.subjectHashKey) === subjectId;
    } catch {
      return false;
    }
  }

  async #remember(
    hash: string,
    outcome: ReplyOutcome,
    requestId: string,
    detail: Record<string, unknown>,
    token: { flowId: string; tokenId: string } | undefined,
  ): Promise<ReplyResult> {
    return this.deps.knex.transaction(async (trx) => {
      if (!(await claim(trx, hash))) return this.#duplicate(trx, hash);
      return this.#record(trx, hash, outcome, requestId, detail, token);
    });
  }

  async #record(
    trx: Knex.Transaction,
    hash: string,
    outcome: string,
    requestId: string,
    detail: Record<string, unknown>,
    token?: { flowId: string; tokenId: string },
  ): Promise<ReplyResult> {
    await trx('webhook_messages')
      .where({ message_hash: hash })
      .update({ outcome, flow_id: token?.flowId ?? null, token_id: token?.tokenId ?? null });
    await this.deps.audit.appendInTransaction(
      trx,
      this.#event(requestId, `completion_reply_${outcome}`, {
        flowId: token?.flowId,
        tokenId: token?.tokenId,
        detail: { via: 'webhook', ...detail },
      }),
    );
    return { outcome: outcome as ReplyOutcome };
  }

  async #duplicate(trx: Knex.Transaction, hash: string): Promise<ReplyResult> {
    const row = (await trx('webhook_messages').where({ message_hash: hash }).first()) as
      Record<string, unknown> | undefined;
    if (row?.hook_status === 'pending' && row.submission_id) {
      return {
        outcome: 'duplicate',
        unfinishedHook: {
          messageHash: hash,
          submissionId: String(row.submission_id),
          receivedAt: toDate(row.received_at),
          linkedBy: row.linked_by === 'context_id' ? 'context_id' : 'flow_token',
        },
      };
    }
    return { outcome: 'duplicate' };
  }

  #event(
    requestId: string,
    outcome: string,
    facts: {
      flowId?: string;
      tokenId?: string;
      subjectRef?: string;
      fields?: Record<string, string>;
      detail: Record<string, unknown>;
    },
  ): AuditEvent {
    return {
      occurredAt: new Date(),
      kind: 'request',
      requestId,
      flowId: facts.flowId,
      action: 'nfm_reply',
      outcome,
      httpStatus: 200,
      tokenHash: facts.tokenId ? tokenHash(facts.tokenId) : undefined,
      subjectRef: facts.subjectRef,
      fields: facts.fields,
      detail: facts.detail,
    };
  }
}

/** Remembers a message id; false when it was already there (this delivery is a retry). */
async function claim(trx: Knex.Transaction, hash: string): Promise<boolean> {
  const rows = (await trx('webhook_messages')
    .insert({ message_hash: hash, outcome: 'processing' })
    .onConflict('message_hash')
    .ignore()
    .returning('message_hash')) as unknown[];
  return rows.length === 1;
}

/** `response_json` as an object, or undefined when it is not a JSON object (never thrown). */
function parseReply(text: string): Record<string, unknown> | undefined {
  try {
    const value = parseJsonSafely(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Field names only, as the endpoint's submissions list them (never values) — and only the names
 * the flow's Flow JSON knows: the inventory is readable by compliance staff, and a key name is
 * client input too. Others are counted.
 */
function fieldNamesOf(flow: WebhookFlow, answers: Record<string, unknown>): string[] {
  const names: string[] = [];
  let unknown = 0;
  for (const key of Object.keys(answers)) {
    if (flow.fieldOfKey.has(key)) names.push(key);
    else unknown++;
  }
  if (unknown > 0) names.push(`(${unknown} unknown fields)`);
  return names;
}
