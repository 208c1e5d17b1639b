import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Knex } from 'knex';
import { verifyAuditLog } from '../audit';
import { assertValidActor, InvalidActorError, UndecryptableError } from '../compliance';
import type { AtRestCipher } from '../crypto';
import { errorSummary, type Logger } from '../logging';
import { projectRoot } from '../paths';
import { InvalidPhoneNumberError, normalizePhoneNumber } from '../tokens';
import type { ConsoleAudit, ConsoleAction } from './console-audit';
import type { ConsoleDb } from './console-db';
import type { Html } from './html';
import { actionsPage } from './pages/actions';
import { auditPage, type AuditForm } from './pages/audit';
import { messagePage, signInPage, type PageContext } from './pages/layout';
import { overviewPage, type Verification } from './pages/overview';
import { submissionsPage } from './pages/submissions';
import { subjectLookupPage, subjectPage } from './pages/subject';
import { verifyPassword } from './passwords';
import * as q from './queries';
import { readCookie, sameText, SessionStore, type ConsoleSession } from './sessions';
import { exportOf, holdingsOf, subjectRefOfPhone } from './subject';

export interface ConsoleAppDeps {
  readonly db: ConsoleDb;
  readonly audit: ConsoleAudit;
  readonly cipher: AtRestCipher;
  readonly subjectHashKey: string;
  readonly retentionDays: number;
  readonly logger: Logger;
  readonly trustProxy: boolean | number;
  /** Production: cookies are always `Secure` (the console must then be reached over HTTPS). */
  readonly production: boolean;
  readonly sessions?: SessionStore;
  /** Failed sign-ins one address may make per 15 minutes. */
  readonly signInAttempts?: number;
}

/** Re-run the chain verification on an overview at most this often (it reads every event). */
const VERIFY_MAX_AGE_MS = 10 * 60_000;
const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The console's routes. GET pages and POST forms; every POST carries the session's CSRF token
 * (the sign-in form a token bound to a pre-session cookie), and a cross-site Origin or
 * Sec-Fetch-Site is refused outright. Every page view, export, verification and sign-in is
 * recorded in the audit log, in the same transaction that read the page's data, before the
 * page is sent.
 */
export function consoleApp(deps: ConsoleAppDeps): Express {
  const sessions = deps.sessions ?? new SessionStore();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          connectSrc: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  const chartDir = dirname(require.resolve('chart.js'));
  const assets: Record<string, [string, string]> = {
    'chart.umd.js': [join(chartDir, 'chart.umd.js'), 'text/javascript; charset=utf-8'],
    'console.js': [join(projectRoot(), 'src', 'console', 'assets', 'console.js'), 'text/javascript; charset=utf-8'],
    'console.css': [join(projectRoot(), 'src', 'console', 'assets', 'console.css'), 'text/css; charset=utf-8'],
  };
  app.get('/assets/:name', (req, res) => {
    const asset = assets[req.params.name];
    if (!asset) return void res.status(404).type('text/plain').send('not found');
    res.type(asset[1]);
    res.set('Cache-Control', 'private, max-age=300');
    res.sendFile(asset[0]);
  });

  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 }));

  // Cross-site requests are refused before anything else: the CSRF token is the main defence,
  // this a second one that needs no state (Fetch Metadata, Origin).
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const own = `${req.protocol}://${req.get('host') ?? ''}`;
    if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== own)) {
      return void send(res.status(403), messagePage('Refused', 'Cross-site requests are not accepted.'));
    }
    next();
  });

  const secure = (req: Request): boolean => deps.production || req.secure;
  const cookieName = (req: Request, base: string): string => (secure(req) ? `__Host-${base}` : base);
  const setCookie = (req: Request, res: Response, base: string, value: string, maxAgeMs: number): void => {
    res.cookie(cookieName(req, base), value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: secure(req),
      path: '/',
      maxAge: maxAgeMs,
    });
  };
  const clearCookie = (req: Request, res: Response, base: string): void => {
    res.clearCookie(cookieName(req, base), { httpOnly: true, sameSite: 'strict', secure: secure(req), path: '/' });
  };
  const sessionOf = (req: Request): ConsoleSession | undefined =>
    sessions.touch(readCookie(req.get('cookie'), cookieName(req, 'fg_console')));
  const field = (req: Request, name: string): string | undefined => {
    const value = (req.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value : undefined;
  };

  const record = (trx: Knex.Transaction, action: ConsoleAction): Promise<void> => deps.audit.record(trx, action);

  // --- signing in and out ---------------------------------------------------------------------

  const showSignIn = (req: Request, res: Response, status: number, message?: string): void => {
    let pre = readCookie(req.get('cookie'), cookieName(req, 'fg_console_pre'));
    if (!pre || !/^[A-Za-z0-9_-]{43}$/.test(pre)) {
      pre = randomBytes(32).toString('base64url');
      setCookie(req, res, 'fg_console_pre', pre, 3600_000);
    }
    send(res.status(status), signInPage(sessions.signInToken(pre), message));
  };

  app.get('/sign-in', (req, res) => {
    if (sessionOf(req)) return void res.redirect(303, '/');
    showSignIn(req, res, 200);
  });

  app.post(
    '/sign-in',
    rateLimit({
      windowMs: 15 * 60_000,
      limit: deps.signInAttempts ?? 10,
      skipSuccessfulRequests: true,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (req, res) => showSignIn(req, res, 429, 'Too many failed sign-ins from this address; try again later.'),
    }),
    async (req, res) => {
      const pre = readCookie(req.get('cookie'), cookieName(req, 'fg_console_pre'));
      if (!sessions.checkSignInToken(pre, field(req, '_csrf'))) {
        return showSignIn(req, res, 403, 'The sign-in form expired or did not come from this console; try again.');
      }
      const username = (field(req, 'username') ?? '').trim();
      const password = field(req, 'password') ?? '';
      const known = USERNAME.test(username);
      const hash = known ? await deps.db.read((trx) => q.passwordHashOf(trx, username)) : undefined;
      // Outside the transaction: scrypt takes ~100 ms, and PGlite has one connection.
      const ok = await verifyPassword(password, hash);
      // A user name that is not a user is not recorded: it may be a password typed in the wrong box.
      await deps.db.read((trx) =>
        record(trx, {
          user: hash ? username : '(unknown)',
          outcome: ok ? 'console_signed_in' : 'console_sign_in_failed',
        }),
      );
      if (!ok) return showSignIn(req, res, 401, 'Wrong user name or password.');
      const session = sessions.create(username);
      clearCookie(req, res, 'fg_console_pre');
      setCookie(req, res, 'fg_console', session.id, 8 * 3600_000);
      res.redirect(303, '/');
    },
  );

  // --- everything else needs a session ------------------------------------------------------

  app.use((req, res, next) => {
    const session = sessionOf(req);
    if (!session) {
      if (req.method === 'GET' || req.method === 'HEAD') return void res.redirect(303, '/sign-in');
      return void send(res.status(401), messagePage('Signed out', 'Sign in first.', ['/sign-in', 'Sign in']));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameText(session.csrf, field(req, '_csrf'))) {
      deps.logger.warn('console: a form without a valid CSRF token was refused', { path: req.path });
      return void send(res.status(403), messagePage('Refused', 'This form did not come from your console session.'));
    }
    res.locals.session = session;
    next();
  });

  const ctxOf = (req: Request, res: Response): PageContext => {
    const session = res.locals.session as ConsoleSession;
    return { user: session.user, csrf: session.csrf, path: req.path };
  };
  const userOf = (res: Response): string => (res.locals.session as ConsoleSession).user;

  app.post('/sign-out', async (req, res) => {
    const session = res.locals.session as ConsoleSession;
    await deps.db.read((trx) => record(trx, { user: session.user, outcome: 'console_signed_out' }));
    sessions.end(session.id);
    clearCookie(req, res, 'fg_console');
    res.redirect(303, '/sign-in');
  });

  let verification: Verification | undefined;
  const verify = (trx: Knex.Transaction, user: string): Promise<Verification> =>
    verifyAuditLog(trx).then(async (report) => {
      await record(trx, {
        user,
        outcome: 'console_audit_verified',
        detail: {
          ok: report.ok,
          chains: report.chains.length,
          events: report.chains.reduce((n, c) => n + c.rows, 0),
          ...(report.firstBroken ? { first_broken: `${report.firstBroken.chain}:${report.firstBroken.seq}` } : {}),
        },
      });
      return { at: new Date().toISOString(), report };
    });

  app.get('/', async (req, res) => {
    const user = userOf(res);
    const body = await deps.db.read(async (trx) => {
      if (!verification || Date.now() - Date.parse(verification.at) > VERIFY_MAX_AGE_MS) {
        verification = await verify(trx, user);
      }
      const data = await q.overview(trx, 30);
      await record(trx, { user, outcome: 'console_viewed', detail: { page: 'overview' } });
      return overviewPage(ctxOf(req, res), data, verification);
    });
    send(res, body);
  });

  app.post('/verify', async (_req, res) => {
    verification = await deps.db.read((trx) => verify(trx, userOf(res)));
    res.redirect(303, '/');
  });

  app.get('/audit', async (req, res) => {
    const form = auditForm(req.query);
    const parsed = parseAuditFilter(form);
    const pageNo = pageOf(req.query.page);
    if ('error' in parsed) {
      return send(res.status(400), auditPage(ctxOf(req, res), form, {}, { rows: [], hasNext: false }, 1, parsed.error));
    }
    const body = await deps.db.read(async (trx) => {
      const result = await q.auditPage(trx, parsed.filter, pageNo);
      await record(trx, {
        user: userOf(res),
        outcome: 'console_viewed',
        detail: { page: 'audit', filters: filterDetail(form), page_no: pageNo, rows: result.rows.length },
      });
      return auditPage(ctxOf(req, res), form, parsed.filter, result, pageNo);
    });
    send(res, body);
  });

  app.post('/audit/subject', async (req, res) => {
    const phone = phoneOf(field(req, 'phone'));
    const empty = auditForm({});
    if (!phone) {
      return send(
        res.status(400),
        auditPage(
          ctxOf(req, res),
          empty,
          {},
          { rows: [], hasNext: false },
          1,
          'That is not a phone number (E.164, e.g. +14155550100).',
        ),
      );
    }
    const ref = await deps.db.read(async (trx) => {
      const found = await subjectRefOfPhone(trx, phone, deps.subjectHashKey);
      await record(trx, {
        user: userOf(res),
        outcome: 'console_subject_lookup',
        subjectRef: found,
        detail: { page: 'audit', found: !!found },
      });
      return found;
    });
    if (!ref) {
      return send(
        res.status(404),
        auditPage(
          ctxOf(req, res),
          empty,
          {},
          { rows: [], hasNext: false },
          1,
          'flowgate holds no audit events for that number (never seen, or erased).',
        ),
      );
    }
    res.redirect(303, `/audit?subject=${ref}`);
  });

  app.get('/submissions', async (req, res) => {
    const body = await deps.db.read(async (trx) => {
      const data = await q.inventory(trx, deps.retentionDays);
      await record(trx, { user: userOf(res), outcome: 'console_viewed', detail: { page: 'submissions' } });
      return submissionsPage(ctxOf(req, res), data, deps.retentionDays);
    });
    send(res, body);
  });

  app.get('/actions', async (req, res) => {
    const pageNo = pageOf(req.query.page);
    const includeViews = req.query.views === '1';
    const body = await deps.db.read(async (trx) => {
      const result = await q.actionsPage(trx, pageNo, includeViews);
      await record(trx, { user: userOf(res), outcome: 'console_viewed', detail: { page: 'actions', page_no: pageNo } });
      return actionsPage(ctxOf(req, res), result, pageNo, includeViews);
    });
    send(res, body);
  });

  app.get('/subject', async (req, res) => {
    await deps.db.read((trx) =>
      record(trx, { user: userOf(res), outcome: 'console_viewed', detail: { page: 'subject' } }),
    );
    send(res, subjectLookupPage(ctxOf(req, res)));
  });

  app.post('/subject', async (req, res) => {
    const phone = phoneOf(field(req, 'phone'));
    if (!phone)
      return send(
        res.status(400),
        subjectLookupPage(ctxOf(req, res), 'That is not a phone number (E.164, e.g. +14155550100).'),
      );
    const body = await deps.db.read(async (trx) => {
      const held = await holdingsOf(trx, phone, deps.subjectHashKey);
      await record(trx, {
        user: userOf(res),
        outcome: 'console_subject_viewed',
        subjectRef: held.subjectRef,
        detail: {
          page: 'subject',
          tokens: held.tokens.length,
          sessions: held.sessions.length,
          submissions: held.submissions.length,
          audit_events: held.auditEvents,
        },
      });
      return subjectPage(ctxOf(req, res), phone, held);
    });
    send(res, body);
  });

  app.post('/subject/export', async (req, res) => {
    const phone = phoneOf(field(req, 'phone'));
    if (!phone)
      return send(
        res.status(400),
        subjectLookupPage(ctxOf(req, res), 'That is not a phone number (E.164, e.g. +14155550100).'),
      );
    let reason: string;
    try {
      reason = assertValidActor({ operator: userOf(res), reason: field(req, 'reason') ?? '' }).reason;
    } catch (err) {
      if (!(err instanceof InvalidActorError)) throw err;
      return send(res.status(400), subjectLookupPage(ctxOf(req, res), err.message.replace('--reason', 'The reason')));
    }
    const user = userOf(res);
    let data;
    try {
      data = await deps.db.read(async (trx) => {
        const exported = await exportOf(trx, phone, deps.subjectHashKey, deps.cipher, user);
        const ref = await subjectRefOfPhone(trx, phone, deps.subjectHashKey);
        await record(trx, {
          user,
          outcome: 'subject_exported',
          subjectRef: ref,
          reason,
          detail: {
            tokens: exported.tokens.length,
            sessions: exported.sessions.length,
            submissions: exported.submissions.length,
            media_files: exported.media_files.length,
            consents: exported.consents.length,
            audit_events: exported.audit_events.length,
          },
        });
        return exported;
      });
    } catch (err) {
      if (!(err instanceof UndecryptableError)) throw err;
      deps.logger.error('console: a subject export failed: a row cannot be decrypted', { error: errorSummary(err) });
      return send(
        res.status(500),
        subjectLookupPage(
          ctxOf(req, res),
          'The export failed: a stored row cannot be decrypted with the configured keys (see the service log).',
        ),
      );
    }
    // A download only: never rendered by the browser (attachment, octet-stream, sandboxed, nosniff).
    res.set({
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="subject-export-${data.exported_at.slice(0, 10)}.json"`,
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'X-Content-Type-Options': 'nosniff',
    });
    res.send(Buffer.from(`${JSON.stringify(data, null, 2)}\n`, 'utf8'));
  });

  app.use((_req, res) => {
    send(res.status(404), messagePage('Not found', 'There is no such page in the console.', ['/', 'Overview']));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(res.status(status), messagePage('Bad request', 'The request could not be read.'));
    }
    deps.logger.error('console: unhandled error', { error: errorSummary(err) });
    send(
      res.status(500),
      messagePage('Error', 'Something went wrong; nothing was shown or changed. See the service log.'),
    );
  });
  return app;
}

function send(res: Response, body: Html): void {
  res.type('text/html; charset=utf-8').send(body.text);
}

function phoneOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return normalizePhoneNumber(value.trim());
  } catch (err) {
    if (err instanceof InvalidPhoneNumberError) return undefined;
    throw err;
  }
}

function pageOf(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : 1;
  return Math.max(1, n);
}

function auditForm(query: Record<string, unknown>): AuditForm {
  const text = (k: string): string => (typeof query[k] === 'string' ? query[k].trim() : '');
  return {
    flow: text('flow'),
    outcome: text('outcome'),
    status: text('status'),
    kind: text('kind'),
    from: text('from'),
    to: text('to'),
    subject: text('subject'),
  };
}

/** The filters as recorded in the audit event: what was asked, all non-personal (a pseudonym at most). */
function filterDetail(form: AuditForm): Record<string, string> {
  return Object.fromEntries(Object.entries(form).filter(([, v]) => v !== ''));
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseAuditFilter(form: AuditForm): { filter: q.AuditFilter } | { error: string } {
  // eslint-disable-next-line no-control-regex -- control characters are refused
  const printable = (v: string): boolean => v.length <= 100 && !/[\u0000-\u001f\u007f]/.test(v);
  if (!printable(form.flow) || !printable(form.outcome))
    return { error: 'Flow and outcome are at most 100 printable characters.' };
  if (form.status && !/^[1-5]\d\d$/.test(form.status))
    return { error: 'HTTP status is a three-digit code such as 427.' };
  if (form.kind && form.kind !== 'request' && form.kind !== 'compliance')
    return { error: 'Kind is request or compliance.' };
  if (form.subject && !/^[0-9a-f]{32}$/.test(form.subject)) return { error: 'That is not a subject pseudonym.' };
  const day = (v: string, name: string): Date | string | undefined => {
    if (!v) return undefined;
    const d = new Date(`${v}T00:00:00Z`);
    return DAY.test(v) && !Number.isNaN(d.getTime()) ? d : `${name} must be a date (YYYY-MM-DD).`;
  };
  const from = day(form.from, 'From');
  const to = day(form.to, 'To');
  if (typeof from === 'string') return { error: from };
  if (typeof to === 'string') return { error: to };
  // "To" is inclusive on the page: the query takes the next day's start, exclusive.
  const toExclusive = to ? new Date(to.getTime() + 86_400_000) : undefined;
  if (from && toExclusive && from >= toExclusive) return { error: 'From must not be after To.' };
  return {
    filter: {
      flow: form.flow || undefined,
      outcome: form.outcome || undefined,
      status: form.status ? Number(form.status) : undefined,
      kind: (form.kind || undefined) as q.AuditFilter['kind'],
      from,
      to: toExclusive,
      subject: form.subject || undefined,
    },
  };
}
