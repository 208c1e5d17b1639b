import flowJson from './flow.json';
import { defineFlow, next } from './flow.generated';
import { claim, claimData } from './screens/claim';
import { documents } from './screens/documents';

/**
 * The second example flow, with media pickers: pick a category, an amount and one to three photos
 * of receipts (PhotoPicker), then optional invoices (DocumentPicker, PDF or JPEG), and submit.
 * The files are fetched with `ctx.media` (src/media): verified, decrypted, stored encrypted.
 */
export default defineFlow({
  id: 'submit-claim',
  flowJson,
  onInit: () => next('CLAIM', claimData()),
  screens: [claim, documents],
  auditValues: ['category'],
});
