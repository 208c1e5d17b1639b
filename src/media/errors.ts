import { ERROR_CATALOGUE, FlowgateError, type ErrorCode } from '../errors';

/**
 * Why a picker file was not returned. Every failure of `ctx.media.fetch` is one of these: the
 * handler can show `userMessage` on the screen (e.g. `showError(err.userMessage)`), and the audit
 * event records `code`. None of them carries a key, a URL or a file name.
 */
export type MediaErrorCode = Extract<ErrorCode, `media_${string}`>;

/**
 * What a user is told for each media error code (README "Media" lists them too); what each code
 * means is its row of the error catalogue (src/errors/catalogue.ts).
 */
export const MEDIA_ERRORS: Readonly<Record<MediaErrorCode, { readonly userMessage: string }>> = {
  media_invalid: {
    userMessage: 'We could not read that file. Please pick it again.',
  },
  media_not_in_request: {
    userMessage: 'We could not read that file. Please pick it again.',
  },
  media_limit: {
    userMessage: 'Too many or too few files. Please check the files you picked.',
  },
  media_host_not_allowed: {
    userMessage: 'We could not download that file. Please try again.',
  },
  media_redirect_refused: {
    userMessage: 'We could not download that file. Please try again.',
  },
  media_download_failed: {
    userMessage: 'We could not download that file. Please try again.',
  },
  media_timeout: {
    userMessage: 'Downloading that file took too long. Please try again.',
  },
  media_too_large: {
    userMessage: 'That file is too large. Please pick a smaller one.',
  },
  media_hash_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
  },
  media_hmac_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
  },
  media_decrypt_failed: {
    userMessage: 'That file arrived damaged. Please pick it again.',
  },
  media_plaintext_mismatch: {
    userMessage: 'That file arrived damaged. Please pick it again.',
  },
  media_type_not_allowed: {
    userMessage: 'That kind of file is not accepted here. Please pick another.',
  },
  media_unavailable: {
    userMessage: 'Files cannot be received right now. Please try again later.',
  },
};

export class MediaError extends FlowgateError {
  declare readonly code: MediaErrorCode;
  readonly userMessage: string;

  constructor(code: MediaErrorCode, detail?: string) {
    const meaning = ERROR_CATALOGUE[code].meaning;
    super(code, detail ? `${meaning} (${detail})` : meaning);
    this.userMessage = MEDIA_ERRORS[code].userMessage;
  }
}
