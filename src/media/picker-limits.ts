/**
 * What a PhotoPicker or DocumentPicker in the Flow JSON allows (Flow JSON ≥ 4.0, "Media Upload
 * Components", https://developers.facebook.com/docs/whatsapp/flows/reference/media_upload):
 * `min-uploaded-photos|documents` 0–30 (default 0), `max-uploaded-photos|documents` 1–30 (default
 * 30), `max-file-size-kb` 1–25600 (default 25600 = 25 MiB), and for documents `allowed-mime-types`.
 * The phone enforces these, but older app versions may not (Meta says so for MIME types), and a
 * client holding a token can send anything — so the server checks them again.
 */
export interface PickerLimits {
  readonly kind: 'photo' | 'document';
  readonly minFiles: number;
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  /** undefined: any type the picker kind allows (PhotoPicker: images). */
  readonly allowedMimeTypes: readonly string[] | undefined;
}

export const META_MAX_FILES = 30;
export const META_MAX_FILE_KB = 25_600;

/** Limits of one picker component as written; values bound to `${data.x}` fall back to Meta's defaults. */
export function pickerLimitsOf(node: Readonly<Record<string, unknown>>, component: string): PickerLimits {
  const kind = component === 'PhotoPicker' ? 'photo' : 'document';
  const plural = kind === 'photo' ? 'photos' : 'documents';
  const num = (key: string, min: number, max: number, fallback: number): number => {
    const v = node[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fallback;
  };
  const mime = node['allowed-mime-types'];
  return {
    kind,
    minFiles: num(`min-uploaded-${plural}`, 0, META_MAX_FILES, 0),
    maxFiles: num(`max-uploaded-${plural}`, 1, META_MAX_FILES, META_MAX_FILES),
    maxFileBytes: num('max-file-size-kb', 1, META_MAX_FILE_KB, META_MAX_FILE_KB) * 1024,
    allowedMimeTypes:
      kind === 'document' && Array.isArray(mime) && mime.every((m) => typeof m === 'string') && mime.length > 0
        ? mime
        : undefined,
  };
}
