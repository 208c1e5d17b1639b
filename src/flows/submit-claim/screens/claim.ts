import { defineScreen, next, showError, type DataOf } from '../flow.generated';
import { MediaError } from '../../../flow-api';

/** The categories offered (ids are what the flow sends back). */
export const CATEGORIES = [
  { id: 'travel', title: 'Travel' },
  { id: 'meals', title: 'Meals' },
  { id: 'equipment', title: 'Equipment' },
];

export const claimData = (receiptError = ''): DataOf<'CLAIM'> => ({
  category: CATEGORIES,
  receipt_error: receiptError,
});

/**
 * Receipts: each photo is downloaded from WhatsApp's CDN, checked (hashes, MAC), decrypted and
 * stored encrypted with this flow token; a photo that fails any check is asked for again.
 */
// `data` is typed from flow.json: { category: string; amount: string | number (a number input);
// receipts?: readonly MediaItem[] (the PhotoPicker) }.
export const claim = defineScreen('CLAIM', {
  async onDataExchange({ data }, ctx) {
    try {
      const files = await ctx.media.fetchAll(data.receipts);
      const amount = String(data.amount);
      ctx.session.set('claim', { category: data.category, amount, receipts: files.map((f) => f.id) });
      const title = CATEGORIES.find((c) => c.id === data.category)?.title ?? data.category;
      return next('DOCUMENTS', {
        summary: `${title}, ${amount}: ${files.length} receipt${files.length === 1 ? '' : 's'} received`,
      });
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      return showError(err.userMessage);
    }
  },
});
