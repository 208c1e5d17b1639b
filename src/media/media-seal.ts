import type { AtRestCipher } from '../crypto';
import type { MediaFileRow } from './media-repository';

/** What is sealed beside the file: the name the user's phone gave it, Meta's id, its SHA-256. */
export interface MediaMeta {
  readonly file_name: string;
  readonly media_id: string;
  readonly sha256: string;
}

type Identity = Pick<MediaFileRow, 'id' | 'flowId' | 'tokenId' | 'subjectId'>;

/** Binds a sealed file (and its sealed name) to its row: moved to another row, it does not open. */
export function mediaAad(row: Identity, part: 'file' | 'meta'): string {
  return `media|${row.flowId}|${row.tokenId}|${row.subjectId}|${row.id}|${part}`;
}

export function sealMedia(
  cipher: AtRestCipher,
  row: Identity,
  bytes: Buffer,
  meta: MediaMeta,
): { keyId: string; meta: Buffer; ciphertext: Buffer } {
  const file = cipher.seal(bytes, mediaAad(row, 'file'));
  const info = cipher.seal(JSON.stringify(meta), mediaAad(row, 'meta'));
  if (file.keyId !== info.keyId) throw new Error('keyring changed while sealing');
  return { keyId: file.keyId, meta: info.blob, ciphertext: file.blob };
}

/** Opens a stored file and its meta; AtRestDecryptError when the keyring cannot. */
export function openMedia(cipher: AtRestCipher, row: MediaFileRow): { bytes: Buffer; meta: MediaMeta } {
  const bytes = cipher.open({ keyId: row.keyId, blob: row.ciphertext }, mediaAad(row, 'file'));
  const meta = JSON.parse(
    cipher.open({ keyId: row.keyId, blob: row.meta }, mediaAad(row, 'meta')).toString('utf8'),
  ) as MediaMeta;
  return { bytes, meta };
}
