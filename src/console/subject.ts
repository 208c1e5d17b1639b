import type { Knex } from 'knex';
import {
  heldTokenOf,
  isoOrNull,
  openExportedSession,
  openSubmission,
  subjectOfPhone,
  type DecryptedSubmission,
  type ExportedSession,
  type HeldToken,
  openExportedMediaFile,
  type ExportedMediaFile,
  type SubjectExport,
} from '../compliance';
import type { AtRestCipher } from '../crypto';
import { toDate, toNumber } from '../storage';
import { normalizePhoneNumber, subjectRef } from '../tokens';

/**
 * A data subject as the console sees them: looked up by phone number (turned into the
 * pseudonymous subject with SUBJECT_HASH_KEY), read through the SECURITY DEFINER functions of
 * migration 20261202000019. The page shows `holdings` (metadata only: what is held, never a
 * value); the export decrypts and is only ever sent as a download.
 */
export interface Holdings {
  readonly subjectRef: string | undefined;
  readonly tokens: readonly HeldToken[];
  readonly sessions: readonly HeldSession[];
  readonly submissions: readonly HeldSubmission[];
  readonly auditEvents: number;
}

interface HeldSession {
  readonly token_id: string;
  readonly flow_id: string;
  readonly current_screen: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly state_key_id: string;
  readonly state: string;
}

interface HeldSubmission {
  readonly id: string;
  readonly flow_id: string;
  readonly token_id: string;
  readonly subject_id: string;
  readonly key_id: string;
  readonly field_names: readonly string[];
  readonly created_at: string;
  readonly ciphertext: string;
}

const iso = isoOrNull;

/** The subject_ref audit rows carry for this phone number; undefined if never seen or erased. */
export async function subjectRefOfPhone(
  trx: Knex.Transaction,
  phone: string,
  subjectHashKey: string,
): Promise<string | undefined> {
  const subject = subjectOfPhone(phone, subjectHashKey);
  const result = (await trx.raw('SELECT compliance_subject_salt(?) AS salt', [subject])) as {
    rows: { salt: unknown }[];
  };
  const salt = result.rows[0]?.salt;
  if (salt === null || salt === undefined) return undefined;
  return subjectRef(subject, Buffer.isBuffer(salt) ? salt : Buffer.from(salt as Uint8Array));
}

export async function holdingsOf(trx: Knex.Transaction, phone: string, subjectHashKey: string): Promise<Holdings> {
  const subject = subjectOfPhone(phone, subjectHashKey);
  const result = (await trx.raw('SELECT compliance_subject_holdings(?) AS h', [subject])) as {
    rows: { h: unknown }[];
  };
  const raw = (typeof result.rows[0]?.h === 'string' ? JSON.parse(result.rows[0].h) : result.rows[0]?.h) as {
    tokens: Record<string, unknown>[];
    sessions: Record<string, unknown>[];
    submissions: Record<string, unknown>[];
  };
  const ref = await subjectRefOfPhone(trx, phone, subjectHashKey);
  const auditEvents = ref
    ? toNumber(((await trx('audit_events').where({ subject_ref: ref }).count('* as n')) as { n: unknown }[])[0]?.n)
    : 0;
  return {
    subjectRef: ref,
    tokens: raw.tokens.map(heldTokenOf),
    sessions: raw.sessions.map((s) => ({
      token_id: String(s.token_id),
      flow_id: String(s.flow_id),
      current_screen: (s.current_screen as string | null) ?? null,
      created_at: iso(s.created_at) as string,
      updated_at: iso(s.updated_at) as string,
      state_key_id: String(s.state_key_id),
      state: String(s.state),
    })),
    submissions: raw.submissions.map((m) => ({
      id: String(m.id),
      flow_id: String(m.flow_id),
      token_id: String(m.token_id),
      subject_id: String(m.subject_id),
      key_id: String(m.key_id),
      field_names: (m.field_names as string[]) ?? [],
      created_at: iso(m.created_at) as string,
      ciphertext: String(m.ciphertext),
    })),
    auditEvents,
  };
}

/** What the export file holds: the same shape as `npm run submissions -- export` gives. */
export interface ConsoleExport {
  readonly exported_at: string;
  readonly exported_by: string;
  readonly phone: string;
  readonly tokens: readonly HeldToken[];
  readonly sessions: readonly ExportedSession[];
  readonly submissions: readonly DecryptedSubmission[];
  /** Picker files, decrypted, as the CLI export gives them (migration 20261202000025). */
  readonly media_files: readonly ExportedMediaFile[];
  /** Consent events, oldest first, as the CLI export gives them (migration 20261202000025). */
  readonly consents: SubjectExport['consents'];
  readonly audit_events: readonly Record<string, unknown>[];
}

/** Parses a jsonb array a SECURITY DEFINER function returned (a string on some drivers). */
async function rowsOf(trx: Knex.Transaction, fn: string, subject: string): Promise<Record<string, unknown>[]> {
  const result = (await trx.raw(`SELECT ${fn}(?) AS r`, [subject])) as { rows: { r: unknown }[] };
  const raw = result.rows[0]?.r;
  return (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? [])) as Record<string, unknown>[];
}

/** The subject's picker files (sealed rows, read through compliance_subject_media), decrypted. */
async function mediaFilesOf(
  trx: Knex.Transaction,
  subject: string,
  cipher: AtRestCipher,
): Promise<ExportedMediaFile[]> {
  return (await rowsOf(trx, 'compliance_subject_media', subject)).map((m) =>
    openExportedMediaFile(cipher, {
      id: String(m.id),
      flowId: String(m.flow_id),
      tokenId: String(m.token_id),
      subjectId: String(m.subject_id),
      screen: String(m.screen),
      field: String(m.field),
      mediaKey: String(m.media_key),
      contentType: String(m.content_type),
      byteSize: toNumber(m.byte_size),
      keyId: String(m.key_id),
      meta: Buffer.from(String(m.meta), 'base64'),
      ciphertext: Buffer.from(String(m.ciphertext), 'base64'),
      createdAt: toDate(m.created_at),
    }),
  );
}

async function consentsOf(trx: Knex.Transaction, subject: string): Promise<SubjectExport['consents']> {
  return (await rowsOf(trx, 'compliance_subject_consents', subject)).map((c) => ({
    id: String(c.id),
    flow_id: String(c.flow_id),
    purpose: String(c.purpose),
    policy_url: (c.policy_url as string | null) ?? null,
    policy_version: String(c.policy_version),
    decision: String(c.decision),
    source: String(c.source),
    occurred_at: iso(c.occurred_at) as string,
    submission_id: (c.submission_id as string | null) ?? null,
  }));
}

/** Decrypts a subject's holdings for the export download; a row that cannot be opened fails it. */
export async function exportOf(
  trx: Knex.Transaction,
  phone: string,
  subjectHashKey: string,
  cipher: AtRestCipher,
  user: string,
): Promise<ConsoleExport> {
  const held = await holdingsOf(trx, phone, subjectHashKey);
  const subject = subjectOfPhone(phone, subjectHashKey);
  const mediaFiles = await mediaFilesOf(trx, subject, cipher);
  const consents = await consentsOf(trx, subject);
  const auditRows = held.subjectRef
    ? ((await trx('audit_subject_events')
        .where({ subject_ref: held.subjectRef })
        .orderBy('occurred_at')
        .select('occurred_at', 'kind', 'flow_id', 'screen', 'action', 'outcome', 'http_status', 'request_id', 'fields')
        .limit(100_000)) as Record<string, unknown>[])
    : [];
  return {
    exported_at: new Date().toISOString(),
    exported_by: user,
    phone: normalizePhoneNumber(phone),
    tokens: held.tokens,
    sessions: held.sessions.map((s) => openExportedSession(cipher, { ...s, state: Buffer.from(s.state, 'base64') })),
    submissions: held.submissions.map((m) =>
      openSubmission(
        { cipher },
        {
          id: m.id,
          flowId: m.flow_id,
          tokenId: m.token_id,
          subjectId: m.subject_id,
          keyId: m.key_id,
          ciphertext: Buffer.from(m.ciphertext, 'base64'),
          fieldNames: m.field_names,
          createdAt: new Date(m.created_at),
        },
      ),
    ),
    media_files: mediaFiles,
    consents,
    audit_events: auditRows.map((r) => ({ ...r, occurred_at: iso(r.occurred_at) })),
  };
}
