import type { AtRestDecryptError } from '../crypto';
import { FlowgateError } from '../errors';

/**
 * A stored value the configured keyring cannot open: names the row and the key, never data. Its own
 * module so that submissions and media files share it without an import cycle.
 */
export class UndecryptableError extends FlowgateError {
  constructor(what: string, keyId: string, cause: AtRestDecryptError) {
    super(
      'undecryptable',
      `${what} cannot be decrypted with SUBMISSION_KEYS: ${cause.message}. ` +
        `It was sealed with key "${keyId}"; is that key (with its original value) still in the keyring?`,
    );
  }
}
