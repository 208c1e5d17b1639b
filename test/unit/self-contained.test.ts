import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * The repository explains itself: comments and documents cite files of this repository
 * (src/protocol/NOTES.md, src/ARCHITECTURE.md, …), never research notes kept outside it, which a
 * reader of a clone does not have.
 */
const root = join(__dirname, '..', '..');
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.(ts|js|mjs|json|md|sql|sh)$/.test(f) || f.startsWith('.ci/'));
const outside = /\.\.\/shared\b|\bPROTOCOL\.md\b|\bDESIGN\.md\b/;

describe('when a file of the repository cites a document', () => {
  it('then it is a file of this repository', () => {
    const offenders = tracked.filter((f) => {
      if (f === 'test/unit/self-contained.test.ts') return false;
      try {
        return outside.test(readFileSync(join(root, f), 'utf8'));
      } catch {
        return false; // deleted in the working tree
      }
    });
    expect(offenders).toEqual([]);
  });

  it.each(['src/protocol/NOTES.md', 'src/ARCHITECTURE.md', 'src/media/NOTES.md'])(
    'then the notes it may cite exist: %s',
    (file) => {
      expect(readFileSync(join(root, file), 'utf8').length).toBeGreaterThan(500);
    },
  );
});
