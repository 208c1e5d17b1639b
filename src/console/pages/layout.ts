import { html, type Html, type Part } from '../html';

export interface PageContext {
  readonly user: string;
  readonly csrf: string;
  /** The path of the page, to mark the current navigation link. */
  readonly path: string;
}

const NAV: readonly [string, string][] = [
  ['/', 'Overview'],
  ['/audit', 'Audit events'],
  ['/submissions', 'Submission inventory'],
  ['/subject', 'Data subject'],
  ['/actions', 'Compliance actions'],
];

/** Hidden CSRF field for a form of this session. */
export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}" />`;
}

function document(title: string, body: Part, scripts: readonly string[] = []): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · flowgate compliance console</title>
        <link rel="stylesheet" href="/assets/console.css" />
        ${scripts.map((s) => html`<script src="${s}" defer></script>`)}
      </head>
      <body>
        ${body}
      </body>
    </html> `;
}

export function page(ctx: PageContext, title: string, main: Part, scripts: readonly string[] = []): Html {
  return document(
    title,
    html`<a class="skip" href="#main">Skip to content</a>
      <header>
        <p class="brand">flowgate compliance console <span class="ro">read-only</span></p>
        <nav aria-label="Console pages">
          <ul>
            ${NAV.map(
              ([href, label]) =>
                html`<li><a href="${href}" ${ctx.path === href ? html` aria-current="page"` : ''}>${label}</a></li>`,
            )}
          </ul>
        </nav>
        <form method="post" action="/sign-out" class="signout">
          ${csrfField(ctx.csrf)}
          <span>Signed in as <strong>${ctx.user}</strong></span>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main id="main" tabindex="-1">
        <h1>${title}</h1>
        ${main}
      </main>`,
    scripts,
  );
}

export function signInPage(token: string, message?: string): Html {
  return document(
    'Sign in',
    html`<main id="main" class="narrow">
      <h1>flowgate compliance console</h1>
      ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
      <form method="post" action="/sign-in" class="stack">
        <input type="hidden" name="_csrf" value="${token}" />
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required maxlength="64" autofocus />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="1024"
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">
        Read-only access for compliance staff. Every page you open is recorded in the audit log under your name.
      </p>
    </main>`,
  );
}

export function messagePage(title: string, message: string, link?: [string, string]): Html {
  return document(
    title,
    html`<main id="main" class="narrow">
      <h1>${title}</h1>
      <p>${message}</p>
      ${link ? html`<p><a href="${link[0]}">${link[1]}</a></p>` : ''}
    </main>`,
  );
}

/** A data table with a caption; cells are escaped. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly Part[])[]): Html {
  if (rows.length === 0) return html`<p class="empty">${caption}: none.</p>`;
  return html`<div class="scroll" role="region" aria-label="${caption}" tabindex="0">
    <table>
      <caption>
        ${caption}
      </caption>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              ${r.map((c) => html`<td>${c}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function pager(base: string, params: URLSearchParams, page: number, hasNext: boolean): Html {
  const link = (p: number): string => {
    const q = new URLSearchParams(params);
    q.set('page', String(p));
    return `${base}?${q.toString()}`;
  };
  return html`<nav class="pager" aria-label="Pages">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">Previous page</a>` : ''}
    <span>Page ${page}</span>
    ${hasNext ? html`<a href="${link(page + 1)}" rel="next">Next page</a>` : ''}
  </nav>`;
}
