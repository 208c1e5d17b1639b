import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Jest global setup: generates the flows' types (`npm run types`: git-ignored, so a clean clone
 * has none) and compiles the project (incrementally) so that db tests can spawn the built CLI
 * exactly as `npm run submissions` / `npm run audit` run it.
 */
export default function buildOnce(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'src', 'flow-types', 'run.js'), '--quiet'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
