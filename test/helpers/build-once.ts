import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Jest global setup: compiles the project (incrementally) so that db tests can spawn the built
 * CLI exactly as `npm run submissions` / `npm run audit` run it.
 */
export default function buildOnce(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
