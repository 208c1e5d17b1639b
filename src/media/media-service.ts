import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { AuditEvent, AuditLog } from '../audit';
import type { AtRestCipher } from '../crypto';
import type { ScreenModel } from '../flow-json';
import type { Logger } from '../logging';
import { detectContentType, typeAllowed } from './content-type';
import { MediaError } from './errors';
import { findMediaFileOfToken, insertMediaFile, type MediaFileRow } from './media-repository';
import { openMedia, sealMedia } from './media-seal';
import { decryptMediaFile, MAC_LENGTH, type MediaKeys } from './meta-media-cipher';
import { pickerLimitsOf, type PickerLimits } from './picker-limits';
import { safeDownload, type DownloadPolicy } from './safe-download';

/** A picker file, downloaded, verified, decrypted and stored (sealed) with the flow token's data. */
export interface ReceivedFile {
  /** The stored file's id (`media_inventory.id`). */
  readonly id: string;
  /** As the user's phone named it: personal data — never log it. */
  readonly fileName: string;
  /** From the file's content (never from its name), e.g. `image/jpeg`. */
  readonly contentType: string;
  readonly size: number;
  /** Hex SHA-256 of the content (Meta's `plaintext_hash`, verified). */
  readonly sha256: string;
  readonly bytes: Buffer;
}

/**
 * `ctx.media` in a screen handler: fetches the files of this request's PhotoPicker/DocumentPicker
 * values. Only objects that arrived in this request (and passed the screen's schema) are fetched;
 * a file already stored for this flow token is returned from storage, not downloaded again.
 *
 * @example
 * async onDataExchange({ data }, ctx) {
 *   try {
 *     const files = await ctx.media.fetchAll(data.receipts);
 *     ctx.session.set('receipts', files.map((f) => f.id));
 *   } catch (err) {
 *     if (err instanceof MediaError) return showError(err.userMessage);
 *     throw err;
 *   }
 *   return next('DONE', {});
 * }
 */
export interface MediaFiles {
  /** One media object of a picker value; MediaError when it cannot be verified, nothing returned then. */
  fetch(item: unknown): Promise<ReceivedFile>;
  /** Every file of one picker value (an array), in order; the first failure stops and throws. */
  fetchAll(items: unknown): Promise<ReceivedFile[]>;
}

export interface MediaSettings extends DownloadPolicy {
  /** Files one picker value may hold (MEDIA_MAX_FILES; Meta allows 30). */
  readonly maxFilesPerPicker: number;
}

export interface MediaServiceDeps {
  readonly knex: Knex;
  readonly cipher: AtRestCipher;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly settings: MediaSettings;
}

/** Who and what a request's media helper works for (set by the session step). */
export interface MediaRequestScope {
  readonly flowId: string;
  readonly tokenId: string;
  readonly subjectId: string;
  readonly requestId: string;
  readonly tokenHash?: string;
  readonly subjectRef?: string;
}

interface Picker {
  readonly key: string;
  readonly field: string;
  readonly limits: PickerLimits;
}

/**
 * What the service reads of a registered screen (RegisteredScreen, src/endpoint/registry.ts): its
 * model and the payload keys of its incoming actions. Declared here, not imported, so media does not
 * depend on the engine that depends on it.
 */
export interface MediaScreen {
  readonly model: ScreenModel;
  readonly incoming: readonly { readonly fieldOfKey: Readonly<Record<string, string>> }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class MediaService {
  constructor(private readonly deps: MediaServiceDeps) {}

  /** The helper of one handler call: the screen it runs for, its validated data, its time budget. */
  helper(
    scope: MediaRequestScope,
    screen: MediaScreen | undefined,
    data: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
  ): MediaFiles {
    const pickers = screen ? pickersOf(screen) : [];
    const fetch = (item: unknown): Promise<ReceivedFile> => this.#fetch(scope, screen, pickers, data, item, signal);
    return Object.freeze({
      fetch,
      fetchAll: async (items: unknown): Promise<ReceivedFile[]> => {
        if (!Array.isArray(items)) throw new MediaError('media_invalid', 'expected the array a picker sends');
        if (items.length > this.deps.settings.maxFilesPerPicker) {
          throw new MediaError(
            'media_limit',
            `${items.length} files, MEDIA_MAX_FILES ${this.deps.settings.maxFilesPerPicker}`,
          );
        }
        const files: ReceivedFile[] = [];
        for (const item of items) files.push(await fetch(item));
        return files;
      },
    });
  }

  async #fetch(
    scope: MediaRequestScope,
    screen: MediaScreen | undefined,
    pickers: readonly Picker[],
    data: Readonly<Record<string, unknown>>,
    item: unknown,
    signal: AbortSignal,
  ): Promise<ReceivedFile> {
    const started = performance.now();
    const found = locate(pickers, data, item);
    try {
      if (!found) throw new MediaError('media_not_in_request');
      const { picker, object, count } = found;
      if (count > this.deps.settings.maxFilesPerPicker) {
        throw new MediaError('media_limit', `${count} files, MEDIA_MAX_FILES ${this.deps.settings.maxFilesPerPicker}`);
      }
      const mediaId = String(object.media_id);
      const mediaKey = createHash('sha256').update(`${scope.tokenId}\u0000${mediaId}`).digest('hex');
      const stored = await findMediaFileOfToken(this.deps.knex, scope.tokenId, mediaKey);
      if (stored) return this.#received(stored);

      const keys = decodeKeys(object.encryption_metadata);
      const limit = Math.min(this.deps.settings.maxFileBytes, picker.limits.maxFileBytes);
      // CBC adds 1–16 bytes of padding and the file ends with the 10-byte MAC.
      const download = await safeDownload(String(object.cdn_url), this.deps.settings, limit + 16 + MAC_LENGTH, signal);
      const bytes = decryptMediaFile(download, keys);
      if (bytes.length > limit) throw new MediaError('media_too_large', `${bytes.length} bytes, limit ${limit}`);
      const fileName = String(object.file_name);
      const contentType = detectContentType(bytes, fileName);
      if (!typeAllowed(contentType, picker.limits.kind, picker.limits.allowedMimeTypes)) {
        throw new MediaError('media_type_not_allowed', contentType);
      }
      const identity = { id: randomUUID(), flowId: scope.flowId, tokenId: scope.tokenId, subjectId: scope.subjectId };
      const sha256 = keys.plaintextHash.toString('hex');
      const sealed = sealMedia(this.deps.cipher, identity, bytes, { file_name: fileName, media_id: mediaId, sha256 });
      const row = await insertMediaFile(this.deps.knex, {
        ...identity,
        screen: screen?.model.id ?? '',
        field: picker.field,
        mediaKey,
        contentType,
        byteSize: bytes.length,
        keyId: sealed.keyId,
        meta: sealed.meta,
        ciphertext: sealed.ciphertext,
      });
      await this.#audit(scope, screen, 'media_stored', started, {
        field: picker.field,
        media_file_id: row.id,
        content_type: contentType,
        bytes: bytes.length,
        key_id: row.keyId,
      });
      return row.id === identity.id
        ? { id: row.id, fileName, contentType, size: bytes.length, sha256, bytes }
        : this.#received(row);
    } catch (err) {
      const code = err instanceof MediaError ? err.code : 'internal';
      await this.#audit(scope, screen, 'media_refused', started, {
        ...(found ? { field: found.picker.field } : {}),
        error: code,
      }).catch(() => undefined);
      if (err instanceof MediaError) {
        // The code and the non-personal detail only: never the URL, a key or the file name.
        this.deps.logger.warn('picker file refused', {
          flowId: scope.flowId,
          requestId: scope.requestId,
          code,
          detail: err.message,
        });
      }
      throw err;
    }
  }

  #received(row: MediaFileRow): ReceivedFile {
    const { bytes, meta } = openMedia(this.deps.cipher, row);
    return {
      id: row.id,
      fileName: meta.file_name,
      contentType: row.contentType,
      size: row.byteSize,
      sha256: meta.sha256,
      bytes,
    };
  }

  #audit(
    scope: MediaRequestScope,
    screen: MediaScreen | undefined,
    outcome: string,
    started: number,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const event: AuditEvent = {
      occurredAt: new Date(),
      kind: 'request',
      requestId: scope.requestId,
      flowId: scope.flowId,
      screen: screen?.model.id,
      action: 'media_fetch',
      outcome,
      durationMs: Math.round(performance.now() - started),
      tokenHash: scope.tokenHash,
      subjectRef: scope.subjectRef,
      detail,
    };
    return this.deps.audit.append(event);
  }
}

/** The screen's picker inputs and the payload keys that carry them. */
export function pickersOf(screen: MediaScreen): Picker[] {
  const pickers: Picker[] = [];
  for (const action of screen.incoming) {
    for (const [key, fieldName] of Object.entries(action.fieldOfKey)) {
      const field = screen.model.fields.get(fieldName);
      if (!field || (field.component !== 'PhotoPicker' && field.component !== 'DocumentPicker')) continue;
      if (pickers.some((p) => p.key === key)) continue;
      pickers.push({ key, field: fieldName, limits: field.picker ?? pickerLimitsOf({}, field.component) });
    }
  }
  return pickers;
}

/** The request's own copy of `item`: same media id and, field by field, the same object. */
function locate(
  pickers: readonly Picker[],
  data: Readonly<Record<string, unknown>>,
  item: unknown,
): { picker: Picker; object: Record<string, unknown>; count: number } | undefined {
  if (!isObject(item) || typeof item.media_id !== 'string') return undefined;
  for (const picker of pickers) {
    const value = data[picker.key];
    if (!Array.isArray(value)) continue;
    const object = value.find((v) => isObject(v) && v.media_id === item.media_id) as
      Record<string, unknown> | undefined;
    if (object && JSON.stringify(object) === JSON.stringify(item)) return { picker, object, count: value.length };
  }
  return undefined;
}

function decodeKeys(metadata: unknown): MediaKeys {
  if (!isObject(metadata)) throw new MediaError('media_invalid', 'encryption_metadata');
  const b64 = (name: string, size: number): Buffer => {
    const v = metadata[name];
    const buf = typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.alloc(0);
    if (buf.length !== size || buf.toString('base64') !== v) throw new MediaError('media_invalid', name);
    return buf;
  };
  return {
    encryptedHash: b64('encrypted_hash', 32),
    iv: b64('iv', 16),
    encryptionKey: b64('encryption_key', 32),
    hmacKey: b64('hmac_key', 32),
    plaintextHash: b64('plaintext_hash', 32),
  };
}

/** What `ctx.media` is when the service runs without media storage (e.g. a bare test dispatcher). */
export const UNAVAILABLE_MEDIA: MediaFiles = Object.freeze({
  fetch: () => Promise.reject(new MediaError('media_unavailable')),
  fetchAll: () => Promise.reject(new MediaError('media_unavailable')),
});
