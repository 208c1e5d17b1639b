import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runNode } from '../helpers/cli';

/**
 * `.ci/audit-deps.js` (`npm run audit:deps [-- --strict]`) with `npm audit` played by a stand-in
 * first on PATH, printing what the real one prints in each situation: the registry refusing the
 * advisory request (405, as on this project's CI network), a clean report, a report with high
 * advisories, and no report at all.
 */
let bin: string;
beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'flowgate-fake-npm-'));
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const REFUSED = {
  message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
};
const report = (high: number, critical = 0) => ({
  auditReportVersion: 2,
  vulnerabilities: {},
  metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high, critical, total: 1 + high + critical } },
});

async function audit(stdout: string, exitCode: number, args: string[] = []) {
  writeFileSync(join(bin, 'out.json'), stdout);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\ncat "${join(bin, 'out.json')}"\nexit ${exitCode}\n`);
  chmodSync(join(bin, 'npm'), 0o755);
  return runNode([join(PROJECT_ROOT, '.ci/audit-deps.js'), ...args], {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
}

describe('when the advisory endpoint refuses the request (405)', () => {
  it('then without --strict the audit is SKIPPED with its reason and exits 0', async () => {
    const r = await audit(JSON.stringify(REFUSED), 1);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('npm audit SKIPPED: the audit could not run: the advisory endpoint answered 405');
    expect(r.stdout).toContain('405 Method Not Allowed');
  });

  it('then with --strict it fails with exit 2, saying why', async () => {
    const r = await audit(JSON.stringify(REFUSED), 1, ['--strict']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'npm audit FAILED (--strict): the audit could not run: the advisory endpoint answered 405',
    );
  });
});

describe('when the audit runs', () => {
  it.each([[[]], [['--strict']]])('then a clean report passes (%j)', async (args) => {
    const r = await audit(JSON.stringify(report(0)), 0, args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('npm audit: {"info":0,"low":1');
  });

  it.each([[[]], [['--strict']]])('then high or critical advisories fail with exit 1 (%j)', async (args) => {
    const r = await audit(JSON.stringify(report(1, 1)), 1, args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm audit found 2 high or critical vulnerabilities');
  });

  it('then npm printing no report at all is never a pass', async () => {
    expect((await audit('npm ERR! something broke', 1)).code).toBe(2);
    expect((await audit('npm ERR! something broke', 1, ['--strict'])).code).toBe(2);
  });

  it('then an unknown option is a usage error, not a silent non-strict run', async () => {
    expect((await audit(JSON.stringify(REFUSED), 1, ['--strikt'])).code).toBe(64);
  });
});
