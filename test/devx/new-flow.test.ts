import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli, runNode } from '../helpers/cli';

/** A scratch copy of the project (sources, tests, config; node_modules linked), so scaffolding touches nothing here. */
let copy: string;
beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'flowgate-new-flow-'));
  const entries = ['package.json', 'tsconfig.json', '.eslint.config.mjs', '.prettierrc.json', '.prettierignore'];
  // dist (with its .tsbuildinfo) is copied too so the copy's build is incremental: faster.
  for (const entry of [...entries, 'src', 'schemas', 'migrations', 'test/helpers', 'dist']) {
    if (existsSync(join(PROJECT_ROOT, entry)))
      cpSync(join(PROJECT_ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

const newFlow = (...args: string[]) => runCli('new-flow', args, { cwd: copy });

describe('when a developer runs npm run new-flow', () => {
  it.each([['Bad!'], ['UPPER'], ['with space'], ['a'.repeat(41)]])('then the invalid id %s is refused', async (id) => {
    const run = await newFlow(id);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is not a valid flow id/);
  });

  it('then an existing flow folder is refused and nothing changes', async () => {
    const before = readFileSync(join(copy, 'src/flows/registered.ts'), 'utf8');
    const run = await newFlow('book-appointment');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/src\/flows\/book-appointment already exists/);
    expect(readFileSync(join(copy, 'src/flows/registered.ts'), 'utf8')).toBe(before);
  });

  it('then the scaffolded flow is registered, formatted, type-checks, passes check and its own walk test', async () => {
    const run = await newFlow('hello-world');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('created src/flows/hello-world/flow.json');
    expect(run.stdout).toContain('created test/flows/hello-world.test.ts');
    expect(readFileSync(join(copy, 'src/flows/registered.ts'), 'utf8')).toMatch(
      /import helloWorld from '\.\/hello-world';[\s\S]*\[bookAppointment, [^\]]*helloWorld\]/,
    );
    const again = await newFlow('hello-world');
    expect(again.code).toBe(1);

    const prettier = await runNode(
      [join(copy, 'node_modules/prettier/bin/prettier.cjs'), '--check', 'src/flows', 'test/flows'],
      { cwd: copy },
    );
    expect(prettier.code).toBe(0);

    // Jest's global setup compiles the copy with tsc (a full type-check: any type error fails the
    // run), then the generated test walks the new flow through the real service.
    const jest = await runNode(
      [join(copy, 'node_modules/jest/bin/jest.js'), '--runInBand', '--ci', 'test/flows/hello-world.test.ts'],
      { cwd: copy, env: { NODE_OPTIONS: '--experimental-vm-modules' }, timeoutMs: 240_000 },
    );
    // About 55 s alone; the limits are generous because CI runs it beside the other suites.
    expect(jest.stderr).toMatch(/Tests:\s+3 passed, 3 total/);
    expect(jest.code).toBe(0);

    // The copy's compiled check command now sees both flows.
    const check = await runNode([join(copy, 'dist/src/cli/check.js')], { cwd: copy });
    expect(check.stdout).toMatch(/checked \d flows \(book-appointment, [^)]*hello-world\): 0 errors/);
    expect(check.code).toBe(0);

    // A handler that routes to a screen the Flow JSON does not have is named with file and line.
    const start = join(copy, 'src/flows/hello-world/screens/start.ts');
    writeFileSync(start, readFileSync(start, 'utf8').replace("next('DONE'", "next('FINISHED'"));
    const broken = await runNode([join(copy, 'dist/src/cli/check.js')], { cwd: copy });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /error: src\/flows\/hello-world\/screens\/start\.ts line \d+: next\("FINISHED"\): "FINISHED" is not a screen/,
    );
  }, 360_000);
});
