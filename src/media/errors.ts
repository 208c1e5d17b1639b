/**
 * Why a picker file was not returned. Every failure of `ctx.media.fetch` is one of these: the
 * handler can show `userMessage` on the screen (e.g. `showError(err.userMessage)`), and the audit
 * event records `code`. None of them carries a key, a URL or a file name.
 */
export type MediaErrorCode =
  | 'media_invalid'
  | 'media_not_in_request'
  | 'media_limit'
  | 'media_host_not_allowed'
  | 'media_redirect_refused'
  | 'media_download_failed'
  | 'media_timeout'
  | 'media_too_large'
  | 'media_hash_mismatch'
  | 'media_hmac_mismatch'
  | 'media_decrypt_failed'
  | 'media_plaintext_mismatch'
  | 'media_type_not_allowed'
  | 'media_unavailable';

/** The one table of media error codes and what a user is told (README "Media" lists it too). */
export const MEDIA_ERRORS: Readonly<
  Record<MediaErrorCode, { readonly userMessage: string; readonly meaning: string }>
> = {
  media_invalid: {
    userMessage: 'We could not read that file. Please pick it again.',
    meaning: 'The media object is not shaped as WhatsApp sends it (fields, base64, lengths, https URL).',
  },
  media_not_in_request: {
    userMessage: 'We could not read that file. Please pick it again.',
    meaning: "The object is not one of the files in this request's picker values.",
  },
  media_limit: {
    userMessage: 'Too many or too few files. Please check the files you picked.',
    meaning: 'More files than the picker or MEDIA_MAX_FILES allows.',
  },
  media_host_not_allowed: {
    userMessage: 'We could not download that file. Please try again.',
    meaning: 'The cdn_url is not https on a host of MEDIA_ALLOWED_HOSTS (or loopback outside production).',
  },
  media_redirect_refused: {
    userMessage: 'We could not download that file. Please try again.',
    meaning: 'The CDN answered with a redirect to another host (or too many redirects).',
  },
  media_download_failed: {
    userMessage: 'We could not download that file. Please try again.',
    meaning: 'The CDN could not be reached or did not answer 200.',
  },
  media_timeout: {
    userMessage: 'Downloading that file took too long. Please try again.',
    meaning:
      'Connecting took longer than MEDIA_CONNECT_TIMEOUT_MS or the download longer than MEDIA_DOWNLOAD_TIMEOUT_MS.',
  },
  media_too_large: {
    userMessage: 'That file is too large. Please pick a smaller one.',
    meaning: "The download exceeds MEDIA_MAX_FILE_BYTES or the picker's max-file-size-kb.",
  },
  media_hash_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
    meaning: 'SHA-256 of the downloaded file differs from encrypted_hash.',
  },
  media_hmac_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
    meaning: 'HMAC-SHA256(hmac_key, iv ‖ ciphertext)[0:10] differs from the last 10 bytes of the file.',
  },
  media_decrypt_failed: {
    userMessage: 'That file arrived damaged. Please pick it again.',
    meaning: 'AES-256-CBC decryption or its PKCS#7 padding failed.',
  },
  media_plaintext_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
    meaning: 'SHA-256 of the decrypted file differs from plaintext_hash.',
  },
  media_type_not_allowed: {
    userMessage: 'That kind of file is not accepted here. Please pick another.',
    meaning: "The file's content is not one of the picker's allowed-mime-types (photos: images only).",
  },
  media_unavailable: {
    userMessage: 'Files cannot be received right now. Please try again later.',
    meaning: 'The media helper is not configured for this request (no storage).',
  },
};

export class MediaError extends Error {
  readonly userMessage: string;

  constructor(
    readonly code: MediaErrorCode,
    detail?: string,
  ) {
    super(detail ? `${MEDIA_ERRORS[code].meaning} (${detail})` : MEDIA_ERRORS[code].meaning);
    this.name = 'MediaError';
    this.userMessage = MEDIA_ERRORS[code].userMessage;
  }
}
