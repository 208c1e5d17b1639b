import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli } from '../helpers/cli';
import { startTestService, type TestService } from '../helpers/test-service';

const WALK = join(PROJECT_ROOT, 'src/flows/submit-claim/walk.steps.json');

let t: TestService;
let dir: string;
let secretFile: string;
beforeAll(async () => {
  t = await startTestService();
  dir = mkdtempSync(join(tmpdir(), 'flowgate-sim-media-'));
  secretFile = join(dir, 'app-secret');
  writeFileSync(secretFile, `${t.env.META_APP_SECRET}\n`);
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const simulate = (args: string[], input?: string) =>
  runCli(
    'simulate',
    [
      'submit-claim',
      '--url',
      t.baseUrl,
      '--public-key',
      join(t.keys.dir, 'public.pem'),
      '--app-secret-file',
      secretFile,
      ...args,
    ],
    input === undefined ? {} : { input },
  );

describe('when the simulator walks the picker example through its CDN stand-in', () => {
  it('then the shipped walk script uploads its sample files and completes', async () => {
    const token = await t.issueToken('+14155550401', 'submit-claim');
    const run = await simulate(['--script', WALK, '--token', token]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/OK: completed after 3 request\(s\)/);
    const stored = await t.service.database.knex('media_files').select('field', 'content_type');
    expect(stored).toEqual(
      expect.arrayContaining([
        { field: 'receipts', content_type: 'image/jpeg' },
        { field: 'documents', content_type: 'application/pdf' },
      ]),
    );
  });

  it('then a person can give file paths interactively', async () => {
    const token = await t.issueToken('+14155550402', 'submit-claim');
    const receipt = join(PROJECT_ROOT, 'src/flows/submit-claim/sample-receipt.jpg');
    const answers = ['1', '9.99', receipt, '', '', ''];
    const run = await simulate(['--token', token], `${answers.join('\n')}\n`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(file paths, comma-separated)');
    expect(run.stdout).toContain('Travel, 9.99: 1 receipt received');
    expect(run.stdout).toMatch(/✓ completed; params \{"claim_ref":"[0-9A-F]{8}"/);
  });
});
