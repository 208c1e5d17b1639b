import type { Knex } from 'knex';
import { statement, type SqlTransaction } from './direct-sql';
import { toBuffer, toDate, toJson } from './rows';

export interface SubmissionRow {
  readonly id: string;
  readonly flowId: string;
  readonly tokenId: string;
  readonly subjectId: string;
  readonly keyId: string;
  readonly ciphertext: Buffer;
  readonly fieldNames: readonly string[];
  readonly createdAt: Date;
}

function toSubmission(row: Record<string, unknown>): SubmissionRow {
  return {
    id: String(row.id),
    flowId: String(row.flow_id),
    tokenId: String(row.token_id),
    subjectId: String(row.subject_id),
    keyId: String(row.key_id),
    ciphertext: toBuffer(row.ciphertext),
    fieldNames: toJson<string[]>(row.field_names),
    createdAt: toDate(row.created_at),
  };
}

const INSERT_SUBMISSION = statement(
  'flowgate_insert_submission',
  `INSERT INTO submissions (id, flow_id, token_id, subject_id, key_id, ciphertext, field_names)
   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
);

export async function insertSubmission(tx: SqlTransaction, row: Omit<SubmissionRow, 'createdAt'>): Promise<void> {
  await tx.query(INSERT_SUBMISSION, [
    row.id,
    row.flowId,
    row.tokenId,
    row.subjectId,
    row.keyId,
    row.ciphertext,
    JSON.stringify(row.fieldNames),
  ]);
}

export async function findSubmission(db: Knex, id: string): Promise<SubmissionRow | undefined> {
  const row = (await db('submissions').where({ id }).first()) as Record<string, unknown> | undefined;
  return row ? toSubmission(row) : undefined;
}

export async function listSubmissionsOfSubject(db: Knex, subjectId: string): Promise<SubmissionRow[]> {
  const rows = (await db('submissions').where({ subject_id: subjectId }).orderBy('created_at')) as Record<
    string,
    unknown
  >[];
  return rows.map(toSubmission);
}

export async function replaceSubmissionCiphertext(
  db: Knex,
  id: string,
  expectedKeyId: string,
  keyId: string,
  ciphertext: Buffer,
): Promise<boolean> {
  const changed = await db('submissions').where({ id, key_id: expectedKeyId }).update({ key_id: keyId, ciphertext });
  return changed === 1;
}

export async function deleteSubmissionsOfSubject(db: Knex, subjectId: string): Promise<number> {
  return db('submissions').where({ subject_id: subjectId }).delete();
}

export async function deleteSubmissionsOlderThan(db: Knex, cutoff: Date): Promise<number> {
  return db('submissions').where('created_at', '<', cutoff).delete();
}
