import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWalkScript, PickerFiles, ScriptDriver, Simulator } from '../../src/devtools';
import submitClaim from '../../src/flows/submit-claim';
import { DbFixture } from '../helpers/db-fixture';
import { PROJECT_ROOT } from '../helpers/cli';

jest.setTimeout(240_000);

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const PHONE = '+14155550301';
const OTHER = '+14155550302';

// Canaries: text inside the files and in their names that must never appear in clear anywhere.
const CANARY = `CANARY${randomBytes(8).toString('hex')}`;
const NAME_CANARY = `NAMECANARY${randomBytes(6).toString('hex')}`;
const invoice = Buffer.from(`%PDF-1.4\n% ${CANARY} invoice body\n%%EOF\n`);
const receipt = readFileSync(join(PROJECT_ROOT, 'src/flows/submit-claim/sample-receipt.jpg'));

let f: DbFixture;
let dir: string;
let claimRef: string;

async function walk(
  phone: string,
  invoiceName: string,
): Promise<{ completed: boolean; params: unknown; out: string[] }> {
  const running = await f.startService({ flows: [submitClaim] });
  const { token } = await running.issueToken(phone);
  const script = parseWalkScript(
    JSON.stringify({
      flow: 'submit-claim',
      steps: [
        {
          screen: 'CLAIM',
          inputs: { category: { $option: 2 }, amount: '12', receipts: { $files: ['sample-receipt.jpg'] } },
          press: 'Continue',
          expect: { screen: 'DOCUMENTS', data: { summary: 'Meals, 12: 1 receipt received' } },
        },
        {
          screen: 'DOCUMENTS',
          inputs: { documents: { $files: [invoiceName] } },
          press: 'Submit claim',
          expect: { screen: 'SUCCESS' },
        },
      ],
    }),
    'walk',
  );
  const pickerFiles = new PickerFiles(dir);
  const out: string[] = [];
  try {
    const result = await new Simulator({
      flow: running.service.registry.get('submit-claim')!,
      url: running.client.url,
      publicKey: createPublicKey(f.keys.publicKeyPem),
      appSecret: f.env.META_APP_SECRET,
      token,
      driver: new ScriptDriver(script, 'walk'),
      out: (l) => out.push(l),
      pickerFiles,
    }).run();
    expect(result.mismatches).toEqual([]);
    return { completed: result.completed, params: result.params, out };
  } finally {
    await pickerFiles.close();
    await f.stopService();
  }
}

beforeAll(async () => {
  f = new DbFixture({ SUBMISSION_KEYS: K1 });
  dir = mkdtempSync(join(tmpdir(), 'flowgate-media-'));
  writeFileSync(join(dir, 'sample-receipt.jpg'), receipt);
  writeFileSync(join(dir, `${NAME_CANARY}.pdf`), invoice);
  const first = await walk(PHONE, `${NAME_CANARY}.pdf`);
  expect(first.completed).toBe(true);
  claimRef = String((first.params as { claim_ref: string }).claim_ref);
  const second = await walk(OTHER, `${NAME_CANARY}.pdf`);
  expect(second.completed).toBe(true);
});
afterAll(async () => {
  await f.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const exportOf = async (phone: string, keys = K1) => {
  const r = await f.cli('submissions', ['export', '--phone', phone, '--operator', 'kim', '--reason', 'DSAR-1'], {
    SUBMISSION_KEYS: keys,
  });
  expect(r.stderr).toContain('2 media file(s)');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as {
    media_files: { file_name: string; content_base64: string; content_type: string; submission_id?: string }[];
    submissions: { data: { receipts: string[]; documents: string[] } }[];
  };
};

describe('when a picker flow is walked through the simulator and its CDN stand-in', () => {
  it('then each file is stored once, sealed, linked to the submission, and listed in media_inventory', async () => {
    const { rows, inventory } = await f.withDb(async (knex) => ({
      rows: (await knex('media_files').orderBy('created_at')) as Record<string, unknown>[],
      inventory: (await knex('media_inventory').orderBy('created_at')) as Record<string, unknown>[],
    }));
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => [r.screen, r.field, r.content_type, r.key_id])).toEqual([
      ['CLAIM', 'receipts', 'image/jpeg', 'k1'],
      ['DOCUMENTS', 'documents', 'application/pdf', 'k1'],
      ['CLAIM', 'receipts', 'image/jpeg', 'k1'],
      ['DOCUMENTS', 'documents', 'application/pdf', 'k1'],
    ]);
    expect(inventory).toHaveLength(4);
    expect(inventory.every((r) => typeof r.submission_id === 'string')).toBe(true);
    expect(Object.keys(inventory[0] as object).sort()).toEqual(
      ['byte_size', 'content_type', 'created_at', 'field', 'flow_id', 'id', 'key_id', 'screen', 'submission_id'].sort(),
    );
  });

  it('then the export returns the files, decrypted, byte for byte, and the submission names them by id', async () => {
    const data = await exportOf(PHONE);
    expect(data.media_files.map((m) => [m.file_name, m.content_type])).toEqual([
      ['sample-receipt.jpg', 'image/jpeg'],
      [`${NAME_CANARY}.pdf`, 'application/pdf'],
    ]);
    expect(Buffer.from(data.media_files[0].content_base64, 'base64').equals(receipt)).toBe(true);
    expect(Buffer.from(data.media_files[1].content_base64, 'base64').equals(invoice)).toBe(true);
    const submission = data.submissions[0].data;
    expect(submission.receipts).toHaveLength(1);
    expect(submission.documents).toHaveLength(1);
    expect(JSON.stringify(submission)).toContain(claimRef);
  });

  it('then no plaintext byte of a file, nor its name, is in any table, log line or database file', async () => {
    const rows = await f.dumpAllRows();
    const hex = (s: string) => Buffer.from(s).toString('hex');
    for (const needle of [CANARY, NAME_CANARY]) {
      expect(rows.filter((r) => r.includes(needle) || r.includes(hex(needle)))).toEqual([]);
      expect(f.logs.filter((l) => l.includes(needle))).toEqual([]);
      expect(f.dataFilesContain(needle)).toBe(false);
    }
    // Neither the file keys nor the CDN URLs are logged or audited.
    const audit = await f.withDb((knex) => knex('audit_events').where({ action: 'media_fetch' }));
    expect(audit).toHaveLength(4);
    expect(audit.every((e: { outcome: string }) => e.outcome === 'media_stored')).toBe(true);
    const text = JSON.stringify(audit) + f.logs.join('\n');
    expect(text).not.toMatch(/encryption_key|hmac_key|cdn_url|127\.0\.0\.1:\d+\/v\//);
  });

  it('then re-encryption moves the files to the new key and they still export', async () => {
    const r = await f.cli('submissions', ['reencrypt'], { SUBMISSION_KEYS: `${K2},${K1}` });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('4 media file(s) re-encrypted');
    const keys = await f.withDb((knex) => knex('media_files').distinct('key_id').pluck('key_id'));
    expect(keys).toEqual(['k2']);
    const data = await exportOf(PHONE, K2);
    expect(Buffer.from(data.media_files[1].content_base64, 'base64').equals(invoice)).toBe(true);
  });

  it('then a sealed file moved to another row does not open (the export fails rather than mixing people)', async () => {
    await f.withDb(async (knex) => {
      const [a, b] = (await knex('media_files').orderBy('created_at')) as { id: string; ciphertext: Buffer }[];
      await knex('media_files').where({ id: a.id }).update({ ciphertext: b.ciphertext });
    });
    const r = await f.cli('submissions', ['export', '--phone', PHONE, '--operator', 'kim', '--reason', 'DSAR-2'], {
      SUBMISSION_KEYS: K2,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot be decrypted');
  });

  it('then erasure deletes the person’s files and retention deletes old ones', async () => {
    const erased = await f.cli('submissions', ['erase', '--phone', PHONE, '--operator', 'eve', '--reason', 'GDPR-17'], {
      SUBMISSION_KEYS: K2,
    });
    expect(erased.code).toBe(0);
    expect(erased.stdout).toContain('2 media file(s) deleted');
    expect(await f.withDb((knex) => knex('media_files').count('* as n').first())).toMatchObject({
      n: expect.anything(),
    });
    const left = await f.withDb((knex) => knex('media_files').pluck('field'));
    expect(left).toHaveLength(2);
    await f.withDb((knex) => knex('media_files').update({ created_at: new Date(Date.now() - 400 * 86_400_000) }));
    const purged = await f.cli('submissions', ['purge', '--older-than-days', '365'], { SUBMISSION_KEYS: K2 });
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain('; 2 media file(s)');
    expect(await f.withDb((knex) => knex('media_files').pluck('id'))).toEqual([]);
  });
});
