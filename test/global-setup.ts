import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The developer-tool tests run the compiled CLIs (`dist/src/cli/*.js`) exactly as `npm run …`
 * does, so the project is compiled once before any test file starts (incremental: ~3 s).
 */
export default function globalSetup(): void {
  const root = join(__dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
