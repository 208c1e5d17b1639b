import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const PROJECT_ROOT = join(__dirname, '..', '..');

/** Set for the test workers by test/helpers/build-once.ts once dist/ is built for this run. */
export const BUILT_MARK = 'FLOWGATE_TEST_BUILT';

/**
 * `dist/<parts>` of this project, refused when this jest run did not build it: a suite spawning
 * the compiled code belongs to the `built` project in package.json (its global setup builds),
 * else it would run whatever stale dist/ lies around, or none on a clean clone.
 */
export function builtFile(...parts: string[]): string {
  if (process.env[BUILT_MARK] !== '1') {
    throw new Error(
      `this suite runs dist/${parts.join('/')}, but dist/ was not built for this run: add it to the "built" project's testRegex in package.json`,
    );
  }
  return join(PROJECT_ROOT, 'dist', ...parts);
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a compiled CLI (`dist/src/cli/<name>.js`, built by test/helpers/build-once.ts) as `npm run <name>`
 * would, with its own environment, optional stdin, and a time limit.
 */
export function runCli(name: string, args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return runNode([builtFile('src', 'cli', `${name}.js`), ...args], options);
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs `node <args>` with only PATH and HOME from this environment plus `env`. */
export function runNode(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(options.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
