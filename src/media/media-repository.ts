import type { Knex } from 'knex';
import { toBuffer, toDate, toNumber } from '../storage';

/** One stored picker file as its row holds it: sealed, with only non-personal facts in clear. */
export interface MediaFileRow {
  readonly id: string;
  readonly flowId: string;
  readonly tokenId: string;
  readonly subjectId: string;
  readonly screen: string;
  readonly field: string;
  readonly mediaKey: string;
  readonly contentType: string;
  readonly byteSize: number;
  readonly keyId: string;
  readonly meta: Buffer;
  readonly ciphertext: Buffer;
  readonly createdAt: Date;
}

function toRow(row: Record<string, unknown>): MediaFileRow {
  return {
    id: String(row.id),
    flowId: String(row.flow_id),
    tokenId: String(row.token_id),
    subjectId: String(row.subject_id),
    screen: String(row.screen),
    field: String(row.field),
    mediaKey: String(row.media_key),
    contentType: String(row.content_type),
    byteSize: toNumber(row.byte_size),
    keyId: String(row.key_id),
    meta: toBuffer(row.meta),
    ciphertext: toBuffer(row.ciphertext),
    createdAt: toDate(row.created_at),
  };
}

/** Inserts a file unless the token already holds it (same media key); returns the row kept. */
export async function insertMediaFile(db: Knex, row: Omit<MediaFileRow, 'createdAt'>): Promise<MediaFileRow> {
  await db('media_files')
    .insert({
      id: row.id,
      flow_id: row.flowId,
      token_id: row.tokenId,
      subject_id: row.subjectId,
      screen: row.screen,
      field: row.field,
      media_key: row.mediaKey,
      content_type: row.contentType,
      byte_size: row.byteSize,
      key_id: row.keyId,
      meta: row.meta,
      ciphertext: row.ciphertext,
    })
    .onConflict(['token_id', 'media_key'])
    .ignore();
  const kept = (await db('media_files').where({ token_id: row.tokenId, media_key: row.mediaKey }).first()) as
    Record<string, unknown> | undefined;
  if (!kept) throw new Error('media file row vanished after insert');
  return toRow(kept);
}

export async function findMediaFileOfToken(db: Knex, tokenId: string, mediaKey: string) {
  const row = (await db('media_files').where({ token_id: tokenId, media_key: mediaKey }).first()) as
    Record<string, unknown> | undefined;
  return row ? toRow(row) : undefined;
}

export async function listMediaFilesOfSubject(db: Knex, subjectId: string): Promise<MediaFileRow[]> {
  const rows = (await db('media_files').where({ subject_id: subjectId }).orderBy('created_at')) as Record<
    string,
    unknown
  >[];
  return rows.map(toRow);
}

export async function listMediaFilesOfToken(db: Knex, tokenId: string): Promise<MediaFileRow[]> {
  const rows = (await db('media_files').where({ token_id: tokenId }).orderBy('created_at')) as Record<
    string,
    unknown
  >[];
  return rows.map(toRow);
}

export async function deleteMediaFilesOfSubject(db: Knex, subjectId: string): Promise<number> {
  return db('media_files').where({ subject_id: subjectId }).delete();
}

export async function deleteMediaFilesOlderThan(db: Knex, cutoff: Date): Promise<number> {
  return db('media_files').where('created_at', '<', cutoff).delete();
}

/** Ids (in order, after `after`) of rows sealed with a key other than `keyId`. */
export async function mediaFileIdsNotUnder(db: Knex, keyId: string, after: string, limit: number): Promise<string[]> {
  const rows = (await db('media_files')
    .whereNot({ key_id: keyId })
    .andWhere('id', '>', after || '00000000-0000-0000-0000-000000000000')
    .orderBy('id')
    .limit(limit)
    .select('id')) as { id: unknown }[];
  return rows.map((r) => String(r.id));
}

export async function findMediaFile(db: Knex, id: string): Promise<MediaFileRow | undefined> {
  const row = (await db('media_files').where({ id }).first()) as Record<string, unknown> | undefined;
  return row ? toRow(row) : undefined;
}

/** Swaps a row's ciphertexts to another key, only if nobody changed the row meanwhile. */
export async function replaceMediaCiphertext(
  db: Knex,
  id: string,
  expectedKeyId: string,
  sealed: { keyId: string; meta: Buffer; ciphertext: Buffer },
): Promise<boolean> {
  const changed = await db('media_files')
    .where({ id, key_id: expectedKeyId })
    .update({ key_id: sealed.keyId, meta: sealed.meta, ciphertext: sealed.ciphertext });
  return changed === 1;
}
