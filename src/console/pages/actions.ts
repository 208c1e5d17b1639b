import { html, type Html } from '../html';
import type { ActionRow } from '../queries';
import { page, pager, table, type PageContext } from './layout';

const known = ['operator', 'reason', 'via', 'database_user', 'os_user'];

export function actionsPage(
  ctx: PageContext,
  result: { rows: readonly ActionRow[]; hasNext: boolean },
  pageNo: number,
  includeViews: boolean,
): Html {
  const params = new URLSearchParams(includeViews ? { views: '1' } : {});
  return page(
    ctx,
    'Compliance actions',
    html`<form method="get" action="/actions" class="filters">
        <div class="check">
          <input type="checkbox" id="f-views" name="views" value="1" ${includeViews ? html` checked` : ''} />
          <label for="f-views">Include console page views</label>
        </div>
        <div class="actions"><button type="submit">Show</button></div>
      </form>
      ${table(
        `Compliance actions, newest first (page ${pageNo})`,
        ['Time (UTC)', 'Action', 'Operator', 'Via', 'Database login', 'Reason', 'Detail'],
        result.rows.map((r) => {
          const rest = Object.fromEntries(Object.entries(r.detail).filter(([k]) => !known.includes(k)));
          const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
          return [
            r.occurredAt,
            r.outcome,
            text(r.detail.operator),
            text(r.detail.via),
            text(r.detail.database_user),
            text(r.detail.reason),
            html`<code>${JSON.stringify(rest)}</code>`,
          ];
        }),
      )}
      ${pager('/actions', params, pageNo, result.hasNext)}`,
  );
}
