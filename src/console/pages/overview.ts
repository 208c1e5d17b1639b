import type { VerifyReport } from '../../audit';
import { html, jsonBlock, type Html } from '../html';
import type { Overview } from '../queries';
import { csrfField, page, table, type PageContext } from './layout';

export interface Verification {
  readonly at: string;
  readonly report: VerifyReport;
}

function chainStatus(ctx: PageContext, verification: Verification | undefined): Html {
  const form = html`<form method="post" action="/verify" class="inline">
    ${csrfField(ctx.csrf)}<button type="submit">Verify the audit log now</button>
  </form>`;
  if (!verification)
    return html`<p>No verification run yet.</p>
      ${form}`;
  const { report } = verification;
  const rows = report.chains.reduce((n, c) => n + c.rows, 0);
  return html`<p class="${report.ok ? 'ok' : 'error'}" role="status" id="chain-status">
      ${report.ok ? 'Intact' : 'BROKEN'}: ${report.chains.length} chains, ${rows} events checked at ${verification.at}.
      ${report.firstBroken ? html`First broken link: chain ${report.firstBroken.chain}, seq ${report.firstBroken.seq} (${report.firstBroken.reason}).` : ''}
    </p>
    <details>
      <summary>Chain heads (record these outside the database)</summary>
      ${table(
        'Chain heads',
        ['Chain', 'Events', 'Last hash', 'Status'],
        report.chains.map((c) => [
          c.chain,
          c.rows,
          html`<code>${c.lastHash}</code>`,
          c.broken ? `broken at ${c.broken.seq}` : 'ok',
        ]),
      )}
    </details>
    ${form}`;
}

function chartFigure(id: string, title: string, description: string): Html {
  return html`<figure class="chart">
    <figcaption id="${id}-title">${title}</figcaption>
    <div class="chart-box">
      <canvas id="${id}" role="img" aria-labelledby="${id}-title" aria-describedby="${id}-desc"></canvas>
    </div>
    <p id="${id}-desc" class="hint">${description}</p>
  </figure>`;
}

export function overviewPage(ctx: PageContext, data: Overview, verification: Verification | undefined): Html {
  const days = data.days.length;
  return page(
    ctx,
    'Overview',
    html`<section aria-labelledby="chain-h">
        <h2 id="chain-h">Audit chain</h2>
        ${chainStatus(ctx, verification)}
      </section>
      <section aria-labelledby="traffic-h">
        <h2 id="traffic-h">Last ${days} days (UTC)</h2>
        <p>${data.totalRequests} requests since ${data.since.slice(0, 10)}.</p>
        <div class="charts">
          ${chartFigure('chart-outcomes', 'Requests per day by outcome', 'Stacked bars; the table below each chart gives the same numbers.')}
          ${chartFigure('chart-refusals', 'Refusals by status code and reason', 'Requests answered 400 or above, by HTTP status and outcome.')}
          ${chartFigure('chart-latency', 'Latency per day (p50 and p99, ms)', 'Time to answer a request, median and 99th percentile.')}
        </div>
        ${table(
          'Requests per day by outcome',
          ['Day', 'Outcome', 'Requests'],
          data.days.flatMap((day, i) =>
            data.outcomes.filter((o) => (o.counts[i] ?? 0) > 0).map((o) => [day, o.outcome, o.counts[i] ?? 0]),
          ),
        )}
        ${table(
          'Refusals by status and reason',
          ['Status', 'Reason', 'Requests'],
          data.refusals.map((r) => [r.status, r.reason, r.count]),
        )}
        ${table(
          'Latency per day',
          ['Day', 'p50 ms', 'p99 ms'],
          data.latency.map((l) => [l.day, Math.round(l.p50), Math.round(l.p99)]),
        )}
      </section>
      ${jsonBlock('chart-data', data)}`,
    ['/assets/chart.umd.js', '/assets/console.js'],
  );
}
