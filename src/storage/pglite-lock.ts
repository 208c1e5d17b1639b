import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FlowgateError } from '../errors';

export class DatabaseInUseError extends FlowgateError {
  constructor(dataDir: string, pid: number) {
    super(
      'database_in_use',
      `the embedded database ${dataDir} is in use by process ${pid} (a running flowgate?). ` +
        'PGlite serves one process: stop that process, use its HTTP API (e.g. `npm run token -- issue … --url http://127.0.0.1:3000`), or set DATABASE_URL.',
    );
  }
}

/**
 * PGlite is single-process: two processes opening one data folder corrupt it. A pid file beside
 * the folder turns that into a clear error; a file left by a dead process is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = `${dataDir}.lock`;
  // On a fresh clone the parent folder (.data/) does not exist yet.
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) throw new DatabaseInUseError(dataDir, pid);
    writeFileSync(file, String(process.pid));
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
    } catch {
      // already gone
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
