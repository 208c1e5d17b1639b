import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { queryAuditEvents, type AuditRow } from '../audit';
import { consentsOnErasure, listConsentsOfSubject } from '../consents';
import { AtRestDecryptError, type AtRestCipher } from '../crypto';
import {
  deleteSubmissionsOfSubject,
  findSubjectSalt,
  listSubmissionsOfSubject,
  openSessionState,
  toBuffer,
  toDate,
} from '../storage';
import { normalizePhoneNumber, subjectRef } from '../tokens';
import type { Actor } from './actor';
import { complianceEvent, type ComplianceDeps } from './deps';
import { subjectOfPhone } from './subject-lookup';
import { eraseMediaFiles, exportMediaFiles, type ExportedMediaFile } from './media-files';
import { openSubmission, UndecryptableError, type DecryptedSubmission } from './submissions';

/** Everything flowgate holds about one phone number, decrypted (a data-subject access request). */
export interface SubjectExport {
  readonly exported_at: string;
  readonly phone: string;
  readonly tokens: readonly HeldToken[];
  readonly sessions: readonly ExportedSession[];
  readonly submissions: readonly DecryptedSubmission[];
  /** Files the person sent through PhotoPicker/DocumentPicker, decrypted (content in base64). */
  readonly media_files: readonly ExportedMediaFile[];
  /** Every consent event (granted, declined, withdrawn), oldest first (src/consents). */
  readonly consents: readonly {
    readonly id: string;
    readonly flow_id: string;
    readonly purpose: string;
    readonly policy_url: string | null;
    readonly policy_version: string;
    readonly decision: string;
    readonly source: string;
    readonly occurred_at: string;
    readonly submission_id: string | null;
  }[];
  /** Audit rows linked to the person (pseudonymously): what happened, never what was entered. */
  readonly audit_events: readonly AuditRow[];
}

/** A person's flow token as an export shows it (the CLI's and the console's). */
export interface HeldToken {
  readonly id: string;
  readonly flow_id: string;
  readonly status: string;
  readonly issued_at: string;
  readonly expires_at: string;
  readonly completed_at: string | null;
  readonly revoked_at: string | null;
}

/** A person's session as an export shows it, its state decrypted. */
export interface ExportedSession {
  readonly token_id: string;
  readonly flow_id: string;
  readonly current_screen: string | null;
  readonly updated_at: string;
  /** Screens shown, answers given and handler values, as stored (encrypted) for the session. */
  readonly state: unknown;
}

const MAX_AUDIT_ROWS = 100_000;

export const isoOrNull = (v: unknown): string | null =>
  v === null || v === undefined ? null : toDate(v).toISOString();
const iso = isoOrNull;

/** A `flow_tokens` row (or the console's JSON of one) as an export shows it. */
export function heldTokenOf(t: Readonly<Record<string, unknown>>): HeldToken {
  return {
    id: String(t.id),
    flow_id: String(t.flow_id),
    status: String(t.status),
    issued_at: iso(t.issued_at) as string,
    expires_at: iso(t.expires_at) as string,
    completed_at: iso(t.completed_at),
    revoked_at: iso(t.revoked_at),
  };
}

/**
 * A session with its state decrypted; a state that cannot be decrypted fails the export
 * (UndecryptableError) rather than leaving it silently incomplete.
 */
export function openExportedSession(
  cipher: AtRestCipher,
  s: {
    readonly token_id: unknown;
    readonly flow_id: unknown;
    readonly state_key_id: unknown;
    readonly current_screen: unknown;
    readonly updated_at: unknown;
    readonly state: Buffer;
  },
): ExportedSession {
  const tokenId = String(s.token_id);
  const flowId = String(s.flow_id);
  const keyId = String(s.state_key_id);
  let state: unknown;
  try {
    state = openSessionState(cipher, flowId, tokenId, keyId, s.state);
  } catch (err) {
    if (err instanceof AtRestDecryptError) throw new UndecryptableError(`session of token ${tokenId}`, keyId, err);
    throw err;
  }
  return {
    token_id: tokenId,
    flow_id: flowId,
    current_screen: (s.current_screen as string | null) ?? null,
    updated_at: iso(s.updated_at) as string,
    state,
  };
}

/**
 * Collects every token, session, submission and audit row of a phone number, decrypted, from one
 * consistent snapshot; records the export (operator, reason, counts) before returning it. A row
 * that cannot be decrypted fails the export rather than leaving it silently incomplete.
 */
export async function exportSubjectData(deps: ComplianceDeps, phone: string, actor: Actor): Promise<SubjectExport> {
  const normalized = normalizePhoneNumber(phone);
  const subject = subjectOfPhone(normalized, deps.subjectHashKey);
  const result = await deps.knex.transaction(async (trx) => {
    const tokens = (await trx('flow_tokens').where({ subject_id: subject }).orderBy('issued_at')) as Record<
      string,
      unknown
    >[];
    const tokenIds = tokens.map((t) => String(t.id));
    const sessions =
      tokenIds.length === 0
        ? []
        : ((await trx('flow_sessions').whereIn('token_id', tokenIds).orderBy('created_at')) as Record<
            string,
            unknown
          >[]);
    const submissions = await listSubmissionsOfSubject(trx, subject);
    const consents = await listConsentsOfSubject(trx, subject);
    const salt = await findSubjectSalt(trx, subject);
    const auditEvents = salt
      ? await queryAuditEvents(trx, { subjectRefs: [subjectRef(subject, salt)], limit: MAX_AUDIT_ROWS })
      : [];
    const mediaFiles = await exportMediaFiles(trx, deps.cipher, subject);
    return { tokens, sessions, submissions, consents, auditEvents, mediaFiles };
  });

  const data: SubjectExport = {
    exported_at: new Date().toISOString(),
    phone: normalized,
    tokens: result.tokens.map(heldTokenOf),
    sessions: result.sessions.map((s) =>
      openExportedSession(deps.cipher, {
        token_id: s.token_id,
        flow_id: s.flow_id,
        state_key_id: s.state_key_id,
        current_screen: s.current_screen,
        updated_at: s.updated_at,
        state: toBuffer(s.state),
      }),
    ),
    submissions: result.submissions.map((row) => openSubmission(deps, row)),
    media_files: result.mediaFiles,
    consents: result.consents.map((c) => ({
      id: c.id,
      flow_id: c.flowId,
      purpose: c.purpose,
      policy_url: c.policyUrl,
      policy_version: c.policyVersion,
      decision: c.decision,
      source: c.source,
      occurred_at: c.occurredAt.toISOString(),
      submission_id: c.submissionId,
    })),
    audit_events: result.auditEvents,
  };
  await deps.audit.append(
    complianceEvent('subject_exported', actor, {
      tokens: data.tokens.length,
      sessions: data.sessions.length,
      submissions: data.submissions.length,
      media_files: data.media_files.length,
      consents: data.consents.length,
      audit_events: data.audit_events.length,
    }),
  );
  return data;
}

export interface ErasureResult {
  readonly submissions: number;
  readonly sessions: number;
  readonly mediaFiles: number;
  readonly tokensRevoked: number;
  readonly tokensUnlinked: number;
  readonly saltDeleted: boolean;
  /** Consents still granted, withdrawn by the erasure. */
  readonly consentsWithdrawn: number;
  /** Consent records kept as proof (pseudonymous, unlinked from submissions). */
  readonly consentsKept: number;
}

/**
 * Right to erasure, in one transaction with its audit event: the person's submissions and sessions
 * (which hold their answers) are deleted; their tokens are revoked (a later request gets 427) and
 * unlinked from them (the subject id is replaced by a random one); their salt is deleted, so the
 * audit rows — kept, as the log is append-only — can no longer be tied to them by anyone.
 * Each token row is locked first, so a request in flight finishes before (and is erased) or
 * finds its token revoked after.
 */
export async function eraseSubject(deps: ComplianceDeps, phone: string, actor: Actor): Promise<ErasureResult> {
  const subject = subjectOfPhone(phone, deps.subjectHashKey);
  return deps.knex.transaction(async (trx: Knex.Transaction) => {
    const tokens = (await trx('flow_tokens').where({ subject_id: subject }).forUpdate().select('id')) as {
      id: unknown;
    }[];
    const tokenIds = tokens.map((t) => String(t.id));
    const sessions = tokenIds.length === 0 ? 0 : await trx('flow_sessions').whereIn('token_id', tokenIds).delete();
    const submissions = await deleteSubmissionsOfSubject(trx, subject);
    const mediaFiles = await eraseMediaFiles(trx, subject);
    const tokensRevoked =
      tokenIds.length === 0
        ? 0
        : await trx('flow_tokens')
            .whereIn('id', tokenIds)
            .andWhere({ status: 'active' })
            .update({ status: 'revoked', revoked_at: trx.fn.now() });
    for (const id of tokenIds) {
      await trx('flow_tokens')
        .where({ id })
        .update({ subject_id: `erased:${randomBytes(16).toString('hex')}` });
    }
    const saltDeleted = (await trx('subjects').where({ subject_id: subject }).delete()) > 0;
    // Consent records stay as proof of past consent; what is still granted ends here (src/consents/withdraw.ts).
    const consents = await consentsOnErasure(trx, subject);
    const result = {
      submissions,
      sessions,
      mediaFiles,
      tokensRevoked,
      tokensUnlinked: tokenIds.length,
      saltDeleted,
      consentsWithdrawn: consents.withdrawn,
      consentsKept: consents.kept,
    };
    await deps.audit.appendInTransaction(
      trx,
      complianceEvent('subject_erased', actor, {
        submissions,
        sessions,
        media_files: mediaFiles,
        tokens_revoked: tokensRevoked,
        tokens_unlinked: tokenIds.length,
        salt_deleted: saltDeleted,
        consents_withdrawn: consents.withdrawn,
        consents_kept: consents.kept,
      }),
    );
    return result;
  });
}
