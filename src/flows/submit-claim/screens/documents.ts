import { randomBytes } from 'node:crypto';
import { complete, defineScreen, showError } from '../flow.generated';
import { MediaError } from '../../../flow-api';

interface Claim {
  readonly category: string;
  readonly amount: string;
  readonly receipts: readonly string[];
}

/** Optional invoices (PDF or JPEG, by content), then the claim is stored: ids of the files, never their keys. */
export const documents = defineScreen('DOCUMENTS', {
  async onDataExchange({ data }, ctx) {
    const claimed = ctx.session.get<Claim>('claim');
    if (!claimed) return showError('Your session has expired. Please start again.');
    let documentIds: string[];
    try {
      documentIds = (await ctx.media.fetchAll(data.documents ?? [])).map((f) => f.id);
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      return showError(err.userMessage);
    }
    const claimRef = randomBytes(4).toString('hex').toUpperCase();
    // The stored submission names the files by id (media_inventory); the files are stored apart.
    return complete({
      params: { claim_ref: claimRef },
      submission: { ...claimed, documents: documentIds, claim_ref: claimRef },
    });
  },
});
