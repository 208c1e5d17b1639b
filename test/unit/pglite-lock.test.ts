import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from '../../src/storage/pglite-lock';

describe('when the embedded database folder is locked', () => {
  it('then a missing parent folder (a fresh clone without .data/) is created', () => {
    const root = mkdtempSync(join(tmpdir(), 'flowgate-lock-'));
    try {
      const dataDir = join(root, '.data', 'pglite');
      const unlock = lockDataDir(dataDir);
      expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
      unlock();
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
