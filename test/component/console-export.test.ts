import { createHash } from 'node:crypto';
import { exportSubjectData } from '../../src/compliance';
import {
  CANARY_FILE_BYTES,
  CANARY_FILE_NAME,
  CANARY_NAME,
  PASSWORD,
  PHONE,
  startConsoleHarness,
  USER,
  type ConsoleHarness,
} from '../browser/console-harness';

/**
 * The console's data-subject export through its HTTP interface (sign-in form, CSRF token, export
 * form), without a browser: the file carries the person's picker files and consent records as
 * `npm run submissions -- export` does (migration 20261202000025), read as the read-only role.
 * test/browser/console.test.ts drives the same pages in Chromium.
 */
jest.setTimeout(120_000);

let h: ConsoleHarness;
beforeAll(async () => {
  h = await startConsoleHarness({ browser: false });
}, 300_000);
afterAll(async () => {
  await h?.stop();
});

/** A cookie jar of one: the console's cookies by name. */
class Browserless {
  readonly cookies = new Map<string, string>();

  async request(path: string, init: { form?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(`${h.url}${path}`, {
      method: init.form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        origin: h.url,
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = (pair ?? '').indexOf('=');
      this.cookies.set((pair ?? '').slice(0, eq), (pair ?? '').slice(eq + 1));
    }
    return res;
  }

  async csrf(path: string): Promise<string> {
    const page = await (await this.request(path)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!token) throw new Error(`no CSRF token on ${path}`);
    return token;
  }
}

interface ExportFile {
  phone: string;
  submissions: unknown[];
  media_files: Record<string, unknown>[];
  consents: Record<string, unknown>[];
}

describe('when compliance staff download a data-subject export from the console', () => {
  it('then it holds the picker files and consent records the CLI export holds, and the record counts them', async () => {
    const b = new Browserless();
    const signIn = await b.request('/sign-in', {
      form: { _csrf: await b.csrf('/sign-in'), username: USER, password: PASSWORD },
    });
    expect(signIn.status).toBe(303);
    const res = await b.request('/subject/export', {
      form: { _csrf: await b.csrf('/subject'), phone: PHONE, reason: 'DSAR-5150' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
    const file = JSON.parse(await res.text()) as ExportFile;
    expect(file.phone).toBe(PHONE);
    expect(JSON.stringify(file.submissions)).toContain(CANARY_NAME);

    // Decrypted with the service's keyring, in the CLI export's shape (src/compliance/media-files.ts).
    expect(file.media_files).toHaveLength(1);
    expect(file.media_files[0]).toMatchObject({
      flow_id: 'book-appointment',
      screen: 'DETAILS',
      field: 'id_photo',
      content_type: 'image/jpeg',
      byte_size: CANARY_FILE_BYTES.length,
      file_name: CANARY_FILE_NAME,
      sha256: createHash('sha256').update(CANARY_FILE_BYTES).digest('hex'),
      content_base64: CANARY_FILE_BYTES.toString('base64'),
    });
    // The booking's OptIn (src/flows/book-appointment): granted with the submission.
    expect(file.consents).toHaveLength(1);
    expect(file.consents[0]).toMatchObject({ flow_id: 'book-appointment', decision: 'granted', source: 'submission' });
    expect(Object.keys(file.consents[0] ?? {}).sort()).toEqual(
      [
        'decision',
        'flow_id',
        'id',
        'occurred_at',
        'policy_url',
        'policy_version',
        'purpose',
        'source',
        'submission_id',
      ].sort(),
    );

    // The same as the CLI's export of the same person (its media files and consents).
    const { service } = h.t;
    const cli = await exportSubjectData(
      {
        knex: service.database.knex,
        cipher: service.cipher,
        audit: service.audit,
        subjectHashKey: service.config.subjectHashKey.reveal(),
      },
      PHONE,
      { operator: 'test', reason: 'compare', osUser: 'test' },
    );
    expect(file.media_files).toEqual(cli.media_files);
    expect(file.consents).toEqual(cli.consents);

    await h.t.service.audit.flush();
    const rows = (await h.t.service.database
      .knex('compliance_actions')
      .where({ outcome: 'subject_exported' })
      .select('detail')) as { detail: unknown }[];
    const details = rows.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as object);
    expect(details).toContainEqual(
      expect.objectContaining({ via: 'console', media_files: 1, consents: 1, submissions: 1 }),
    );
    expect(JSON.stringify(details)).not.toContain(CANARY_FILE_NAME);
  });
});
