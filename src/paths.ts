import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root (the folder holding package.json), found from this file so that the same
 * code works from `src/` under ts-jest and from `dist/src/` after a build.
 */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find package.json above ' + __dirname);
    dir = parent;
  }
  return dir;
}

export const paths = {
  get migrations(): string {
    return join(projectRoot(), 'migrations');
  },
  get schemaOverrides(): string {
    return join(projectRoot(), 'schemas', 'flows');
  },
};
