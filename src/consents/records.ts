import type { Knex } from 'knex';
import { statement, toDate, toNumber, type SqlTransaction } from '../storage';

export type ConsentDecision = 'granted' | 'declined' | 'withdrawn';
export type ConsentSource = 'submission' | 'cli' | 'api' | 'erasure' | 'console';

/** One consent event, as stored (migration 20261202000021). */
export interface ConsentRecord {
  readonly id: string;
  readonly seq: number;
  /** The pseudonymous subject (keyed hash of the phone number), as in tokens and submissions. */
  readonly subjectId: string;
  readonly flowId: string;
  readonly purpose: string;
  readonly policyUrl: string | null;
  readonly policyVersion: string;
  readonly decision: ConsentDecision;
  readonly source: ConsentSource;
  readonly occurredAt: Date;
  /** The submission the answer came with; null for withdrawals and once that submission was erased. */
  readonly submissionId: string | null;
}

export type NewConsentRecord = Omit<ConsentRecord, 'seq' | 'occurredAt'> & { readonly requestId?: string };

export function toConsentRecord(row: Record<string, unknown>): ConsentRecord {
  return {
    id: String(row.id),
    seq: toNumber(row.seq),
    subjectId: String(row.subject_id),
    flowId: String(row.flow_id),
    purpose: String(row.purpose),
    policyUrl: row.policy_url === null || row.policy_url === undefined ? null : String(row.policy_url),
    policyVersion: String(row.policy_version),
    decision: String(row.decision) as ConsentDecision,
    source: String(row.source) as ConsentSource,
    occurredAt: toDate(row.occurred_at),
    submissionId: row.submission_id === null || row.submission_id === undefined ? null : String(row.submission_id),
  };
}

function values(r: NewConsentRecord): unknown[] {
  return [
    r.id,
    r.subjectId,
    r.flowId,
    r.purpose,
    r.policyUrl,
    r.policyVersion,
    r.decision,
    r.source,
    r.submissionId,
    r.requestId ?? null,
  ];
}

const INSERT_CONSENT = statement(
  'flowgate_insert_consent',
  `INSERT INTO consent_records
     (id, subject_id, flow_id, purpose, policy_url, policy_version, decision, source, submission_id, request_id)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
);

/** On the request path, inside the completion's transaction. */
export async function insertConsentRecord(tx: SqlTransaction, record: NewConsentRecord): Promise<void> {
  await tx.query(INSERT_CONSENT, values(record));
}

/** Off the request path (withdrawals, erasure), inside a knex transaction; returns the stored row. */
export async function insertConsentRecordKnex(trx: Knex.Transaction, record: NewConsentRecord): Promise<ConsentRecord> {
  const rows = (await trx('consent_records')
    .insert({
      id: record.id,
      subject_id: record.subjectId,
      flow_id: record.flowId,
      purpose: record.purpose,
      policy_url: record.policyUrl,
      policy_version: record.policyVersion,
      decision: record.decision,
      source: record.source,
      submission_id: record.submissionId,
      request_id: record.requestId ?? null,
    })
    .returning('*')) as Record<string, unknown>[];
  return toConsentRecord(rows[0]);
}

/**
 * Serialises consent changes of one subject and purpose until the transaction ends, so two
 * withdrawals at the same moment record one withdrawal, not two.
 */
export async function lockSubjectPurpose(trx: Knex.Transaction, subjectId: string, purpose: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 21))', [`consent|${subjectId}|${purpose}`]);
}

/** The subject's latest record per purpose (their current state). */
export async function latestPerPurpose(db: Knex | Knex.Transaction, subjectId: string): Promise<ConsentRecord[]> {
  const result = (await db.raw(
    `SELECT DISTINCT ON (purpose) * FROM consent_records WHERE subject_id = ? ORDER BY purpose, seq DESC`,
    [subjectId],
  )) as { rows: Record<string, unknown>[] };
  return result.rows.map(toConsentRecord);
}

export async function listConsentsOfSubject(db: Knex | Knex.Transaction, subjectId: string): Promise<ConsentRecord[]> {
  const rows = (await db('consent_records').where({ subject_id: subjectId }).orderBy('seq')) as Record<
    string,
    unknown
  >[];
  return rows.map(toConsentRecord);
}
