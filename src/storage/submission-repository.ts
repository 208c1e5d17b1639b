import type { Knex } from 'knex';
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

export async function insertSubmission(db: Knex, row: Omit<SubmissionRow, 'createdAt'>): Promise<void> {
  await db('submissions').insert({
    id: row.id,
    flow_id: row.flowId,
    token_id: row.tokenId,
    subject_id: row.subjectId,
    key_id: row.keyId,
    ciphertext: row.ciphertext,
    field_names: JSON.stringify(row.fieldNames),
  });
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
