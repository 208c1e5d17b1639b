import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Jest global setup of every project (package.json), before any test and outside their time
 * limits: writes the flows' types (`npm run types`: git-ignored, so a clean clone has none; the
 * sources import them), and on the embedded database makes the migrated template the suites copy
 * (test/helpers/pglite-template.ts). Both are kept between runs: well under a second when up to date.
 */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'src', 'flow-types', 'run.js'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (process.env.DATABASE_URL) return;
  // Imported only now: the sources it loads may need the types written just above.
  const { pgliteTemplate } = await import('./pglite-template');
  await pgliteTemplate();
}
