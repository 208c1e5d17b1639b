import type { Knex } from 'knex';
import { AtRestDecryptError, type AtRestCipher } from '../crypto';
import {
  deleteMediaFilesOfSubject,
  deleteMediaFilesOlderThan,
  findMediaFile,
  listMediaFilesOfSubject,
  mediaFileIdsNotUnder,
  openMedia,
  replaceMediaCiphertext,
  sealMedia,
  type MediaFileRow,
} from '../media';
import { toNumber } from '../storage';
import { UndecryptableError } from './undecryptable';

/** A picker file in a data-subject export: its facts, its name and its content (base64). */
export interface ExportedMediaFile {
  readonly id: string;
  readonly flow_id: string;
  readonly token_id: string;
  readonly screen: string;
  readonly field: string;
  readonly created_at: string;
  readonly content_type: string;
  readonly byte_size: number;
  readonly key_id: string;
  readonly file_name: string;
  readonly sha256: string;
  readonly content_base64: string;
}

/** The person's picker files, decrypted; a file the keyring cannot open fails the export. */
export async function exportMediaFiles(
  db: Knex,
  cipher: AtRestCipher,
  subjectId: string,
): Promise<ExportedMediaFile[]> {
  const rows = await listMediaFilesOfSubject(db, subjectId);
  return rows.map((row) => openExportedMediaFile(cipher, row));
}

/**
 * One stored picker file as an export carries it (shared by the CLI export and the console's, so
 * both files have the same shape); a file the keyring cannot open is an UndecryptableError.
 */
export function openExportedMediaFile(cipher: AtRestCipher, row: MediaFileRow): ExportedMediaFile {
  let opened: ReturnType<typeof openMedia>;
  try {
    opened = openMedia(cipher, row);
  } catch (err) {
    if (err instanceof AtRestDecryptError) throw new UndecryptableError(`media file ${row.id}`, row.keyId, err);
    throw err;
  }
  return {
    id: row.id,
    flow_id: row.flowId,
    token_id: row.tokenId,
    screen: row.screen,
    field: row.field,
    created_at: row.createdAt.toISOString(),
    content_type: row.contentType,
    byte_size: row.byteSize,
    key_id: row.keyId,
    file_name: opened.meta.file_name,
    sha256: opened.meta.sha256,
    content_base64: opened.bytes.toString('base64'),
  };
}

/** Erasure and retention of picker files (called inside those actions' transactions). */
export const eraseMediaFiles = deleteMediaFilesOfSubject;
export const purgeMediaFiles = deleteMediaFilesOlderThan;

const BATCH = 100;

/** Moves every picker file to the keyring's current key; rows it cannot open are listed, left as they are. */
export async function reencryptMediaFiles(
  db: Knex,
  cipher: AtRestCipher,
): Promise<{ files: number; failed: string[] }> {
  const keyId = cipher.currentKeyId;
  const failed: string[] = [];
  let files = 0;
  for (let after = ''; ;) {
    const ids = await mediaFileIdsNotUnder(db, keyId, after, BATCH);
    for (const id of ids) {
      const row = await findMediaFile(db, id);
      if (!row || row.keyId === keyId) continue;
      try {
        const { bytes, meta } = openMedia(cipher, row);
        const sealed = sealMedia(cipher, row, bytes, meta);
        if (await replaceMediaCiphertext(db, row.id, row.keyId, sealed)) files++;
      } catch (err) {
        if (!(err instanceof AtRestDecryptError)) throw err;
        failed.push(`media file ${row.id} (key ${row.keyId})`);
      }
    }
    if (ids.length < BATCH) break;
    after = ids[ids.length - 1];
  }
  return { files, failed };
}

/** Picker files per key id (for the re-encryption report). */
export async function mediaFilesByKey(db: Knex): Promise<Record<string, number>> {
  const rows = (await db('media_files').select('key_id as key').count('* as n').groupBy('key_id')) as Record<
    string,
    unknown
  >[];
  return Object.fromEntries(rows.map((r) => [String(r.key), toNumber(r.n)]));
}
