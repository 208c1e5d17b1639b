import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli';

interface Project {
  displayName: string;
  testRegex: string[];
  testPathIgnorePatterns?: string[];
  globalSetup: string;
}

const jestConfig = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { jest: { projects: Project[] } }
).jest;
const project = (name: string) => jestConfig.projects.find((p) => p.displayName === name) as Project;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** What runs the compiled code: the helpers that spawn dist/ (test/helpers/cli.ts builtFile). */
const SPAWNS_DIST = /\brunCli\(|\bspawnService\(|\.cli\(|dist\/src\//;

describe('when jest splits the suites into projects (package.json)', () => {
  const built = project('built');
  const inProcess = project('in-process');
  const files = testFiles(join(PROJECT_ROOT, 'test'));
  const inBuilt = (file: string) => built.testRegex.some((r) => new RegExp(r).test(file));

  it('then the in-process project leaves out exactly what the built project runs', () => {
    expect(built.testRegex).toHaveLength(1);
    expect(inProcess.testPathIgnorePatterns).toContain(built.testRegex[0]);
    expect(built.globalSetup).toMatch(/build-once\.ts$/);
    expect(inProcess.globalSetup).not.toMatch(/build-once\.ts$/);
  });

  it('then every suite that runs dist/ is in the built project, and no other', () => {
    const wrong = files
      .filter((file) => SPAWNS_DIST.test(readFileSync(file, 'utf8')) !== inBuilt(file))
      .map(
        (file) =>
          `${relative(PROJECT_ROOT, file)} (${inBuilt(file) ? 'listed, runs no dist/' : 'runs dist/, not listed'})`,
      );
    expect(wrong).toEqual([]);
    expect(files.filter(inBuilt).length).toBeGreaterThan(0);
  });
});
