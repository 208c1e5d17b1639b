import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BUILT_MARK } from './cli';
import globalSetup from './global-setup';

const ROOT = join(__dirname, '..', '..');

/**
 * Jest global setup of the `built` project only (package.json): the suites that spawn the compiled
 * CLIs or service, `node dist/src/...` exactly as `npm run <cli>` and production run them. Builds
 * as `npm run build` does (`tsc -b`: incremental, a no-op when nothing changed). The other
 * projects import the sources through ts-jest and never wait for this.
 */
export default async function buildOnce(): Promise<void> {
  await globalSetup();
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join('src', 'tsconfig.build.json')],
    { cwd: ROOT, stdio: 'inherit' },
  );
  process.env[BUILT_MARK] = '1';
}
