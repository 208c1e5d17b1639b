import { spawn, type ChildProcess } from 'node:child_process';
import { builtFile } from './cli';

export interface SpawnedService {
  readonly child: ChildProcess;
  /** Parsed JSON log lines (stdout) so far; non-JSON lines are kept as { raw }. */
  readonly logs: Record<string, unknown>[];
  readonly stderr: string[];
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `node dist/src/main.js` in `cwd` with exactly `env` (plus PATH), logging JSON to stdout. */
export function spawnService(env: Record<string, string | undefined>, cwd: string): SpawnedService {
  const cleanEnv: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
  cleanEnv.LOG_FORMAT = 'json';
  const child = spawn(process.execPath, [builtFile('src', 'main.js')], {
    cwd,
    env: cleanEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: {
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { raw: line };
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.predicate(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    logs,
    stderr,
    waitForLog(predicate, timeoutMs = 30_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `log line not seen within ${timeoutMs} ms; stderr: ${stderr.join('').slice(0, 2000)}; logs: ${JSON.stringify(logs).slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          predicate,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exit.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited; stderr: ${stderr.join('').slice(0, 2000)}`));
        });
      });
    },
    exited(timeoutMs = 30_000) {
      return Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('process did not exit')), timeoutMs).unref(),
        ),
      ]);
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export function messageOf(line: Record<string, unknown>): string {
  return typeof line.message === 'string' ? line.message : '';
}
