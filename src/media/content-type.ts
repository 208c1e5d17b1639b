import { extname } from 'node:path';

/**
 * The type of a decrypted file, from its first bytes — never from the file name alone, which the
 * sender chooses. Containers shared by several types (ZIP for OOXML/OpenDocument, OLE for old
 * Office files, ISO-BMFF for HEIC/AVIF/MP4) are told apart by the file name's extension when it
 * names one of them. Covers the 24 types a DocumentPicker may allow (Meta's list in
 * https://developers.facebook.com/docs/whatsapp/flows/reference/media_upload).
 */
const ZIP_TYPES: Record<string, string> = {
  '.zip': 'application/zip',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text',
  '.ods': 'application/vnd.oasis.opendocument.spreadsheet',
  '.odp': 'application/vnd.oasis.opendocument.presentation',
};
const OLE_TYPES: Record<string, string> = {
  '.doc': 'application/msword',
  '.xls': 'application/vnd.ms-excel',
  '.ppt': 'application/vnd.ms-powerpoint',
};
const BMFF_BRANDS: Record<string, string> = {
  heic: 'image/heic',
  heix: 'image/heic',
  heim: 'image/heic',
  heis: 'image/heic',
  mif1: 'image/heif',
  msf1: 'image/heif',
  avif: 'image/avif',
  avis: 'image/avif',
};

const starts = (b: Buffer, ...bytes: number[]): boolean => bytes.every((x, i) => b[i] === x);
const ascii = (b: Buffer, at: number, text: string): boolean =>
  b.subarray(at, at + text.length).toString('latin1') === text;

export function detectContentType(file: Buffer, fileName: string): string {
  const ext = extname(fileName).toLowerCase();
  if (starts(file, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(file, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (ascii(file, 0, 'GIF87a') || ascii(file, 0, 'GIF89a')) return 'image/gif';
  if (ascii(file, 0, 'RIFF') && ascii(file, 8, 'WEBP')) return 'image/webp';
  if (starts(file, 0x49, 0x49, 0x2a, 0x00) || starts(file, 0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  if (ascii(file, 4, 'ftyp')) return BMFF_BRANDS[file.subarray(8, 12).toString('latin1')] ?? 'video/mp4';
  if (ascii(file, 0, '%PDF-')) return 'application/pdf';
  if (starts(file, 0x50, 0x4b, 0x03, 0x04)) return ZIP_TYPES[ext] ?? 'application/zip';
  if (starts(file, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) return OLE_TYPES[ext] ?? 'application/msword';
  if (starts(file, 0x1f, 0x8b)) return 'application/gzip';
  if (starts(file, 0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return 'application/x-7z-compressed';
  if (starts(file, 0x00, 0x00, 0x01, 0xba) || starts(file, 0x00, 0x00, 0x01, 0xb3)) return 'video/mpeg';
  if (isPlainText(file)) return 'text/plain';
  return 'application/octet-stream';
}

function isPlainText(file: Buffer): boolean {
  if (file.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(file);
    return true;
  } catch {
    return false;
  }
}

/** A PhotoPicker takes images only; a DocumentPicker its `allowed-mime-types` (any type when it lists none). */
export function typeAllowed(
  contentType: string,
  kind: 'photo' | 'document',
  allowed: readonly string[] | undefined,
): boolean {
  if (kind === 'photo') return contentType.startsWith('image/');
  return allowed === undefined || allowed.includes(contentType);
}
