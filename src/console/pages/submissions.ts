import { html, type Html } from '../html';
import type { InventoryRow } from '../queries';
import { page, table, type PageContext } from './layout';

export function submissionsPage(
  ctx: PageContext,
  data: { cutoff: string; rows: readonly InventoryRow[] },
  retentionDays: number,
): Html {
  const total = data.rows.reduce((n, r) => n + r.count, 0);
  const due = data.rows.reduce((n, r) => n + r.due, 0);
  return page(
    ctx,
    'Submission inventory',
    html`<p>
        ${total} submissions stored (encrypted). <strong>${due}</strong> are older than the retention period of
        ${retentionDays} days (created before ${data.cutoff}) and due for deletion with
        <code>npm run submissions -- purge</code>.
      </p>
      ${table(
        'Submissions per flow and key id',
        ['Flow', 'Key id', 'Submissions', 'Due for retention', 'Oldest', 'Newest'],
        data.rows.map((r) => [r.flowId, r.keyId, r.count, r.due, r.oldest, r.newest]),
      )}
      <p class="hint">Contents are encrypted and never shown here; field names and counts only.</p>`,
  );
}
