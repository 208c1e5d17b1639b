import type { PickerLimits } from './picker-limits';
import { META_MAX_FILES } from './picker-limits';

/** base64 of exactly 32 bytes (keys, SHA-256 hashes) and of 16 bytes (the AES-CBC IV). */
const B64_32 = '^[A-Za-z0-9+/]{43}=$';
const B64_16 = '^[A-Za-z0-9+/]{22}==$';

/**
 * One file of a picker value as WhatsApp sends it in `data_exchange` (Meta's "Handling media"
 * sample): every field required, nothing else accepted, base64 fields of their exact sizes, and
 * an https URL — or a loopback http URL, which only the download policy outside production
 * accepts (the simulator's CDN stand-in); in production the download refuses it.
 */
export const MEDIA_OBJECT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['media_id', 'cdn_url', 'file_name', 'encryption_metadata'],
  properties: {
    media_id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
    cdn_url: {
      type: 'string',
      maxLength: 4096,
      pattern:
        '^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?/)[\\x21-\\x7e]*$',
    },
    file_name: { type: 'string', minLength: 1, maxLength: 255 },
    encryption_metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['encrypted_hash', 'iv', 'encryption_key', 'hmac_key', 'plaintext_hash'],
      properties: {
        encrypted_hash: { type: 'string', pattern: B64_32 },
        iv: { type: 'string', pattern: B64_16 },
        encryption_key: { type: 'string', pattern: B64_32 },
        hmac_key: { type: 'string', pattern: B64_32 },
        plaintext_hash: { type: 'string', pattern: B64_32 },
      },
    },
  },
} as const;

/**
 * The schema of a picker's value in a `data_exchange` payload: an array of media objects whose
 * count fits the picker (`min-/max-uploaded-…`; a required picker needs one) and Meta's 30.
 */
export function pickerValueSchema(limits: PickerLimits, required: boolean): Record<string, unknown> {
  const minItems = Math.max(required ? 1 : 0, limits.minFiles);
  return {
    type: 'array',
    items: MEDIA_OBJECT_SCHEMA,
    maxItems: Math.min(limits.maxFiles, META_MAX_FILES),
    ...(minItems > 0 ? { minItems } : {}),
  };
}
