import { defineScreen, next, showError } from '../..';
import { MediaError } from '../../../media';

/** The categories offered (ids are what the flow sends back). */
export const CATEGORIES = [
  { id: 'travel', title: 'Travel' },
  { id: 'meals', title: 'Meals' },
  { id: 'equipment', title: 'Equipment' },
];

export const claimData = (receiptError = '') => ({ category: CATEGORIES, receipt_error: receiptError });

/**
 * Receipts: each photo is downloaded from WhatsApp's CDN, checked (hashes, MAC), decrypted and
 * stored encrypted with this flow token; a photo that fails any check is asked for again.
 */
export const claim = defineScreen<{ category: string; amount: string; receipts: unknown[] }>('CLAIM', {
  async onDataExchange({ data }, ctx) {
    try {
      const files = await ctx.media.fetchAll(data.receipts);
      ctx.session.set('claim', { category: data.category, amount: data.amount, receipts: files.map((f) => f.id) });
      const title = CATEGORIES.find((c) => c.id === data.category)?.title ?? data.category;
      return next('DOCUMENTS', {
        summary: `${title}, ${data.amount}: ${files.length} receipt${files.length === 1 ? '' : 's'} received`,
      });
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      return showError(err.userMessage);
    }
  },
});
