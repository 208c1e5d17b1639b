import { html, type Html } from '../html';
import type { AuditFilter, AuditListRow } from '../queries';
import { csrfField, page, pager, table, type PageContext } from './layout';

export interface AuditForm {
  readonly flow: string;
  readonly outcome: string;
  readonly status: string;
  readonly kind: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
}

export function auditPage(
  ctx: PageContext,
  form: AuditForm,
  _filter: AuditFilter,
  result: { rows: readonly AuditListRow[]; hasNext: boolean },
  pageNo: number,
  error?: string,
): Html {
  const params = new URLSearchParams(Object.entries(form).filter(([, v]) => v !== '') as [string, string][]);
  return page(
    ctx,
    'Audit events',
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <form method="get" action="/audit" class="filters" aria-label="Filter audit events">
        <div>
          <label for="f-flow">Flow</label><input id="f-flow" name="flow" value="${form.flow}" maxlength="100" />
        </div>
        <div>
          <label for="f-outcome">Outcome</label
          ><input id="f-outcome" name="outcome" value="${form.outcome}" maxlength="100" />
        </div>
        <div>
          <label for="f-status">HTTP status</label
          ><input
            id="f-status"
            name="status"
            value="${form.status}"
            inputmode="numeric"
            pattern="[0-9]{3}"
            maxlength="3"
          />
        </div>
        <div>
          <label for="f-kind">Kind</label
          ><select id="f-kind" name="kind">
            ${['', 'request', 'compliance'].map((k) => html`<option value="${k}" ${form.kind === k ? html` selected` : ''}>${k === '' ? 'any' : k}</option>`)}
          </select>
        </div>
        <div>
          <label for="f-from">From (UTC day, inclusive)</label
          ><input id="f-from" name="from" type="date" value="${form.from}" />
        </div>
        <div>
          <label for="f-to">To (UTC day, inclusive)</label><input id="f-to" name="to" type="date" value="${form.to}" />
        </div>
        ${form.subject ? html`<div><label for="f-subject">Subject (pseudonym)</label><input id="f-subject" name="subject" value="${form.subject}" readonly /></div>` : ''}
        <div class="actions"><button type="submit">Apply filters</button> <a href="/audit">Clear</a></div>
      </form>
      <form method="post" action="/audit/subject" class="filters" aria-label="Find a person's events">
        ${csrfField(ctx.csrf)}
        <div>
          <label for="f-phone">Subject by phone number</label
          ><input
            id="f-phone"
            name="phone"
            type="tel"
            autocomplete="off"
            required
            maxlength="32"
            placeholder="+14155550100"
          />
        </div>
        <div class="actions"><button type="submit">Find their events</button></div>
        <p class="hint">
          The number is turned into the person's pseudonym on the server; it is never put in the address bar or the
          audit log.
        </p>
      </form>
      ${table(
        `Audit events, newest first (page ${pageNo})`,
        ['Time (UTC)', 'Kind', 'Flow', 'Screen', 'Action', 'Outcome', 'Status', 'ms', 'Chain:seq', 'Fields', 'Detail'],
        result.rows.map((r) => [
          r.occurred_at,
          r.kind,
          r.flow_id,
          r.screen,
          r.action,
          r.outcome,
          r.http_status,
          r.duration_ms,
          `${r.chain}:${r.seq}`,
          r.fields ? html`<code>${r.fields}</code>` : '',
          r.detail ? html`<code>${r.detail}</code>` : '',
        ]),
      )}
      ${pager('/audit', params, pageNo, result.hasNext)}`,
  );
}
