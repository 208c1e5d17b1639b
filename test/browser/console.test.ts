import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import {
  CANARY_EMAIL,
  CANARY_NAME,
  PASSWORD,
  PHONE,
  startConsoleHarness,
  USER,
  type ConsoleHarness,
} from './console-harness';
import { colouredPixels, decodePng, inkedPixels } from './png';

// A real browser on a shared CI machine: generous limits (each step is far quicker when idle).
jest.setTimeout(120_000);

let h: ConsoleHarness;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  h = await startConsoleHarness();
  context = await h.browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1800 } });
  page = await context.newPage();
}, 300_000);

afterAll(async () => {
  await context?.close();
  await h?.stop();
});

/** The console's own audit events (compliance kind, via console), oldest first. */
async function consoleEvents(): Promise<{ outcome: string; detail: Record<string, unknown> }[]> {
  const rows = (await h.t.service.database
    .knex('compliance_actions')
    .orderBy('occurred_at')
    .select('outcome', 'detail')) as { outcome: string; detail: unknown }[];
  return rows
    .map((r) => ({
      outcome: r.outcome,
      detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    }))
    .filter((r) => r.detail.via === 'console');
}

async function signIn(p: Page, password = PASSWORD): Promise<void> {
  await p.goto(`${h.url}/sign-in`);
  await p.getByLabel('User name').fill(USER);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

describe('when compliance staff use the console in a real browser', () => {
  it('then a wrong password is refused and recorded', async () => {
    await signIn(page, 'not the password at all');
    expect(await page.getByRole('alert').textContent()).toBe('Wrong user name or password.');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect((await consoleEvents()).map((e) => e.outcome)).toContain('console_sign_in_failed');
  });

  it('then they sign in and see the overview with the chain verified and the charts drawn', async () => {
    await signIn(page);
    expect(new URL(page.url()).pathname).toBe('/');
    await page.waitForSelector('body[data-charts-drawn="3"]');
    expect(await page.locator('#chain-status').textContent()).toMatch(/Intact: \d+ chains, \d+ events checked/);

    // The screenshot itself is checked: decoded, and each chart's area of it must have ink and colour.
    // One screenshot of a viewport tall enough for the charts (element shots are slow on a busy machine).
    const shot = decodePng(await page.screenshot());
    expect(inkedPixels(shot)).toBeGreaterThan(5000);
    for (const id of ['chart-outcomes', 'chart-refusals', 'chart-latency']) {
      const box = await page.locator(`#${id}`).boundingBox();
      if (!box) throw new Error(`${id} is not displayed`);
      expect(box.width).toBeGreaterThan(100);
      expect(box.y + box.height).toBeLessThanOrEqual(shot.height);
      const area = crop(shot, box);
      expect(inkedPixels(area)).toBeGreaterThan(500);
      expect(colouredPixels(area)).toBeGreaterThan(50);
    }
    // README screenshots: `CONSOLE_SCREENSHOT_DIR=/tmp/shots npx jest test/browser` (generated, not committed).
    await saveScreenshot('console-overview.png');
    // The refusals the harness caused are in the table under the chart (the same numbers).
    const refusals = await page.getByRole('table', { name: 'Refusals by status and reason' }).textContent();
    expect(refusals).toContain('427');
    expect(refusals).toContain('432');
    const events = await consoleEvents();
    expect(events.map((e) => e.outcome)).toEqual(
      expect.arrayContaining(['console_signed_in', 'console_audit_verified', 'console_viewed']),
    );
    const view = events.find((e) => e.outcome === 'console_viewed');
    expect(view?.detail).toMatchObject({ operator: USER, page: 'overview', via: 'console' });
  });

  it('then the page runs under a strict CSP with no inline script, and cookies are HttpOnly and SameSite=Strict', async () => {
    const res = await page.request.get(`${h.url}/`);
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers()['cache-control']).toBe('no-store');
    const body = await res.text();
    expect(body).not.toMatch(/<script(?![^>]*\b(src=|type="application\/json"))/);
    const session = (await context.cookies()).find((c) => c.name === 'fg_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('then they filter the audit list by outcome and status, page through it, and find a person by phone', async () => {
    await page.goto(`${h.url}/audit`);
    await page.getByLabel('HTTP status').fill('427');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    expect(new URL(page.url()).searchParams.get('status')).toBe('427');
    const rows = page.locator('table tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    for (const status of await rows.locator('td:nth-child(7)').allTextContents()) expect(status).toBe('427');

    await page.goto(`${h.url}/audit`);
    await page.getByLabel('Kind').selectOption('request');
    await page.getByLabel('Flow').fill('book-appointment');
    await page.getByLabel('From (UTC day, inclusive)').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const flows = await page.locator('table tbody tr td:nth-child(3)').allTextContents();
    expect(flows.length).toBeGreaterThan(3);
    expect(new Set(flows)).toEqual(new Set(['book-appointment']));

    // Paging: the filtered list runs over more than one page; page 2 holds other, older events.
    const firstPage = await page.locator('table tbody tr td:nth-child(9)').allTextContents();
    expect(firstPage).toHaveLength(50);
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(new URL(page.url()).searchParams.get('page')).toBe('2');
    expect(new URL(page.url()).searchParams.get('flow')).toBe('book-appointment');
    const secondPage = await page.locator('table tbody tr td:nth-child(9)').allTextContents();
    expect(secondPage.length).toBeGreaterThan(0);
    expect(secondPage.filter((link) => firstPage.includes(link))).toEqual([]);
    await page.getByRole('link', { name: 'Previous page' }).click();
    expect(new URL(page.url()).searchParams.get('page')).toBe('1');

    // A day with nothing in it: an empty list, said so.
    await page.goto(`${h.url}/audit?to=2001-01-01`);
    expect(await page.locator('table').count()).toBe(0);
    expect(await page.locator('main').textContent()).toContain('none.');

    // By phone: the number is posted, never in the address; the list shows only that person's events.
    await page.goto(`${h.url}/audit`);
    await page.getByLabel('Subject by phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Find their events' }).click();
    const url = new URL(page.url());
    expect(url.searchParams.get('subject')).toMatch(/^[0-9a-f]{32}$/);
    expect(page.url()).not.toContain('4155550142');
    const outcomes = await page.locator('table tbody tr td:nth-child(6)').allTextContents();
    expect(outcomes.length).toBeGreaterThanOrEqual(4);
    expect(await page.locator('main').textContent()).not.toContain(CANARY_NAME);
    await saveScreenshot('console-audit-subject.png');

    // A bad filter is a clear 400, not an error page.
    const bad = await page.goto(`${h.url}/audit?status=abc`);
    expect(bad?.status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('three-digit');
  });

  it('then every page is usable by keyboard and screen reader: labelled fields, a skip link, one h1', async () => {
    for (const path of ['/', '/audit', '/submissions', '/subject', '/actions']) {
      await page.goto(`${h.url}${path}`);
      const unlabelled = await page.$$eval('input:not([type=hidden]), select', (fields) =>
        fields
          .filter((f) => ((f as unknown as { labels: unknown[] | null }).labels?.length ?? 0) === 0)
          .map((f) => f.outerHTML),
      );
      expect({ path, unlabelled }).toEqual({ path, unlabelled: [] });
      expect(await page.locator('h1').count()).toBe(1);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      // The first Tab lands on the skip link, which leads to the main content.
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').textContent()).toBe('Skip to content');
    }
  });

  it('then the inventory and the compliance actions log show counts and actions, never contents', async () => {
    await page.goto(`${h.url}/submissions`);
    const inventory = await page.getByRole('table', { name: 'Submissions per flow and key id' }).textContent();
    expect(inventory).toContain('book-appointment');
    expect(inventory).toContain('k1');
    expect(await page.locator('main').textContent()).toContain('0 are older than the retention period');
    await page.goto(`${h.url}/actions`);
    const actions = await page.locator('main').textContent();
    expect(actions).toContain('console_user_added');
    expect(actions).toContain('console_signed_in');
    expect(actions).not.toContain('console_viewed');
  });

  it('then they look up a person, see what is held without any value, and download the export', async () => {
    await page.goto(`${h.url}/subject`);
    await page.getByLabel('Phone number (E.164)').fill(PHONE);
    await page.getByRole('button', { name: 'Look up' }).click();
    expect(await page.locator('#held-summary').textContent()).toMatch(/1 flow tokens, 1 sessions, 1 submissions/);
    const shown = (await page.content()) + (await page.locator('main').textContent());
    expect(shown).not.toContain(CANARY_NAME);
    expect(shown).not.toContain(CANARY_EMAIL);

    await saveScreenshot('console-data-subject.png');
    await page.getByLabel('Reason (ticket id, no personal data)').fill('DSAR-4711');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /Download the export/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^subject-export-\d{4}-\d{2}-\d{2}\.json$/);
    const file = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
      phone: string;
      exported_by: string;
      submissions: { data: unknown }[];
      tokens: unknown[];
      audit_events: unknown[];
    };
    expect(file.phone).toBe(PHONE);
    expect(file.exported_by).toBe(USER);
    expect(file.tokens).toHaveLength(1);
    expect(JSON.stringify(file.submissions[0]?.data)).toContain(CANARY_NAME);
    expect(file.audit_events.length).toBeGreaterThanOrEqual(4);

    const exported = (await consoleEvents()).filter((e) => e.outcome === 'subject_exported');
    expect(exported).toHaveLength(1);
    expect(exported[0]?.detail).toMatchObject({ operator: USER, reason: 'DSAR-4711', submissions: 1, via: 'console' });
    expect(JSON.stringify(exported)).not.toContain('4155550142');
    // The page the browser stayed on never got the decrypted data either.
    expect(await page.content()).not.toContain(CANARY_NAME);
  });

  it('then an export without a reason, or with a phone number as reason, is refused', async () => {
    const res = await page.request.post(`${h.url}/subject/export`, {
      form: { _csrf: await csrfOf(page), phone: PHONE, reason: 'call +1 415 555 0142' },
    });
    expect(res.status()).toBe(400);
    expect(res.headers()['content-disposition']).toBeUndefined();
  });

  it('then a forged form without the session token is refused and exports nothing', async () => {
    const before = (await consoleEvents()).filter((e) => e.outcome === 'subject_exported').length;
    const forms: Record<string, string>[] = [
      { phone: PHONE, reason: 'forged' },
      { phone: PHONE, reason: 'forged', _csrf: 'x'.repeat(43) },
    ];
    for (const form of forms) {
      const res = await page.request.post(`${h.url}/subject/export`, { form });
      expect(res.status()).toBe(403);
      expect(await res.text()).not.toContain(CANARY_NAME);
    }
    // A cross-site page posting the session's form: refused by Origin whatever it carries.
    const crossSite = await page.request.post(`${h.url}/sign-out`, {
      form: { _csrf: await csrfOf(page) },
      headers: { origin: 'http://evil.example' },
    });
    expect(crossSite.status()).toBe(403);
    // The sign-in form needs its token too (login CSRF).
    const anonymous = await h.browser.newContext();
    const signInForged = await anonymous.request.post(`${h.url}/sign-in`, {
      form: { username: USER, password: PASSWORD },
    });
    expect(signInForged.status()).toBe(403);
    await anonymous.close();
    expect((await consoleEvents()).filter((e) => e.outcome === 'subject_exported').length).toBe(before);
  });

  it('then they sign out, and the session no longer opens any page', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'fg_console');
    await page.goto(`${h.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.goto(`${h.url}/audit`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    // The old cookie, replayed, is dead on the server too.
    const replay = await fetch(`${h.url}/audit`, {
      headers: { cookie: `fg_console=${cookie?.value ?? ''}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(303);
    expect((await consoleEvents()).map((e) => e.outcome)).toContain('console_signed_out');
  });
});

describe('when someone without a session calls the console', () => {
  it('then every page redirects to sign-in and every form is refused, with nothing read', async () => {
    for (const path of ['/', '/audit', '/submissions', '/subject', '/actions', '/audit?subject=' + 'a'.repeat(32)]) {
      const res = await fetch(`${h.url}${path}`, { redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/sign-in');
    }
    for (const path of ['/subject/export', '/subject', '/verify', '/audit/subject', '/sign-out']) {
      const res = await fetch(`${h.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ phone: PHONE, reason: 'x', _csrf: 'x' }).toString(),
        redirect: 'manual',
      });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(CANARY_NAME);
    }
    const forged = await fetch(`${h.url}/`, {
      headers: { cookie: 'fg_console=' + 'A'.repeat(43) },
      redirect: 'manual',
    });
    expect(forged.status).toBe(303);
  });
});

async function saveScreenshot(name: string): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOT_DIR;
  if (dir) await page.screenshot({ path: join(dir, name), clip: { x: 0, y: 0, width: 1400, height: 1000 } });
}

/** The pixels of a page area (CSS pixels = image pixels at device scale 1). */
function crop(
  image: { width: number; rgba: Buffer },
  box: { x: number; y: number; width: number; height: number },
): { rgba: Buffer } {
  const rows: Buffer[] = [];
  for (let y = Math.floor(box.y); y < Math.floor(box.y + box.height); y++) {
    const start = (y * image.width + Math.floor(box.x)) * 4;
    rows.push(image.rgba.subarray(start, start + Math.floor(box.width) * 4));
  }
  return { rgba: Buffer.concat(rows) };
}

async function csrfOf(p: Page): Promise<string> {
  await p.goto(`${h.url}/subject`);
  return (await p.locator('form[action="/sign-out"] input[name="_csrf"]').inputValue()) || '';
}
