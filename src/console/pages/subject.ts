import { html, type Html } from '../html';
import type { Holdings } from '../subject';
import { csrfField, page, table, type PageContext } from './layout';

function lookupForm(ctx: PageContext): Html {
  return html`<form method="post" action="/subject" class="filters" aria-label="Look up a data subject">
    ${csrfField(ctx.csrf)}
    <div>
      <label for="s-phone">Phone number (E.164)</label
      ><input
        id="s-phone"
        name="phone"
        type="tel"
        autocomplete="off"
        required
        maxlength="32"
        placeholder="+14155550100"
      />
    </div>
    <div class="actions"><button type="submit">Look up</button></div>
  </form>`;
}

export function subjectLookupPage(ctx: PageContext, error?: string): Html {
  return page(
    ctx,
    'Data subject',
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <p>
        What flowgate holds about one person, for an access request. The page lists what is held without showing any
        value; the export downloads everything, decrypted, as a JSON file (recorded in the audit log with your name and
        reason).
      </p>
      ${lookupForm(ctx)}`,
  );
}

export function subjectPage(ctx: PageContext, phone: string, held: Holdings): Html {
  const nothing = held.tokens.length === 0 && held.submissions.length === 0 && held.auditEvents === 0;
  return page(
    ctx,
    'Data subject',
    html`${lookupForm(ctx)}
      <section aria-labelledby="held-h">
        <h2 id="held-h">Held about ${phone}</h2>
        <p id="held-summary">
          ${held.tokens.length} flow tokens, ${held.sessions.length} sessions, ${held.submissions.length} submissions,
          ${held.auditEvents} audit
          events${held.subjectRef ? html` (pseudonym <code>${held.subjectRef}</code>, <a href="/audit?subject=${held.subjectRef}">see their audit events</a>)` : ''}.
        </p>
        ${nothing ? html`<p>Nothing is held about this number (never seen, or erased).</p>` : ''}
        ${table(
          'Flow tokens',
          ['Token id', 'Flow', 'Status', 'Issued', 'Expires', 'Completed', 'Revoked'],
          held.tokens.map((t) => [
            html`<code>${t.id}</code>`,
            t.flow_id,
            t.status,
            t.issued_at,
            t.expires_at,
            t.completed_at,
            t.revoked_at,
          ]),
        )}
        ${table(
          'Sessions (answers encrypted)',
          ['Token id', 'Flow', 'Current screen', 'Started', 'Last request', 'Key id'],
          held.sessions.map((s) => [
            html`<code>${s.token_id}</code>`,
            s.flow_id,
            s.current_screen,
            s.created_at,
            s.updated_at,
            s.state_key_id,
          ]),
        )}
        ${table(
          'Submissions (contents encrypted)',
          ['Submission id', 'Flow', 'Created', 'Key id', 'Fields'],
          held.submissions.map((m) => [
            html`<code>${m.id}</code>`,
            m.flow_id,
            m.created_at,
            m.key_id,
            m.field_names.join(', '),
          ]),
        )}
      </section>
      <section aria-labelledby="export-h">
        <h2 id="export-h">Export</h2>
        <form method="post" action="/subject/export" class="filters" aria-label="Export this person's data">
          ${csrfField(ctx.csrf)}
          <input type="hidden" name="phone" value="${phone}" />
          <div>
            <label for="x-reason">Reason (ticket id, no personal data)</label
            ><input id="x-reason" name="reason" required maxlength="500" />
          </div>
          <div class="actions"><button type="submit">Download the export (decrypted JSON)</button></div>
          <p class="hint">
            The file contains the person's answers in clear: store and send it as the request procedure says.
          </p>
        </form>
      </section>`,
  );
}
