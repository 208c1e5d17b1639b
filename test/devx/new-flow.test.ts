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
    expect(run.stdout).toContain('generated src/flows/hello-world/flow.generated.ts');
    expect(readFileSync(join(copy, 'src/flows/registered.ts'), 'utf8')).toMatch(
      /import helloWorld from '\.\/hello-world';[\s\S]*\[bookAppointment, [^\]]*helloWorld\]/,
    );
    // The current recommended pairing (src/protocol/NOTES.md, "Data API 4.0"), never 6.0 / 3.0.
    const generated = JSON.parse(readFileSync(join(copy, 'src/flows/hello-world/flow.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(generated).toMatchObject({ version: '7.3', data_api_version: '4.0' });
    const again = await newFlow('hello-world');
    expect(again.code).toBe(1);

    const prettier = await runNode(
      [join(copy, 'node_modules/prettier/bin/prettier.cjs'), '--check', 'src/flows', 'test/flows'],
      { cwd: copy },
    );
    expect(prettier.code).toBe(0);

    // `npm run build`'s compiler step: a full type-check of the sources (any type error fails it),
    // before the generated test runs.
    const build = await runNode([join(copy, 'node_modules/typescript/bin/tsc'), '-b', 'src/tsconfig.build.json'], {
      cwd: copy,
      timeoutMs: 240_000,
    });
    expect(build.stdout).toBe('');
    expect(build.code).toBe(0);
    // The generated test walks the new flow through the real service (flow_token_signature
    // required) on data API 4.0, and sees an unsigned request refused (427).
    const jest = await runNode(
      [join(copy, 'node_modules/jest/bin/jest.js'), '--runInBand', '--ci', 'test/flows/hello-world.test.ts'],
      { cwd: copy, env: { NODE_OPTIONS: '--experimental-vm-modules' }, timeoutMs: 360_000 },
    );
    // About 55 s alone; the limits are generous because CI runs it beside the other suites.
    expect(jest.stderr).toMatch(/Tests:\s+4 passed, 4 total/);
    expect(jest.code).toBe(0);

    // The copy's compiled check command sees both flows.
    const check = await runNode([join(copy, 'dist/src/cli/check.js')], { cwd: copy });
    expect(check.stdout).toMatch(/checked \d flows \(book-appointment, [^)]*hello-world\): 0 errors/);
    expect(check.code).toBe(0);

    // The template uses the types generated from flow.json: a wrong field is a compile error
    // naming file, line and field (what the README's first-flow guide shows).
    const start = join(copy, 'src/flows/hello-world/screens/start.ts');
    const typed = readFileSync(start, 'utf8');
    writeFileSync(start, typed.replace('greeting:', 'greting:'));
    const tsc = await runNode([join(copy, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], {
      cwd: copy,
      timeoutMs: 240_000,
    });
    expect(tsc.code).toBe(2);
    // The only error is the one made here: the generated test type-checks too.
    expect(tsc.stdout.split('\n').filter((line) => line.includes('error TS'))).toEqual([
      expect.stringMatching(/^src\/flows\/hello-world\/screens\/start\.ts\(/),
    ]);
    expect(tsc.stdout).toMatch(
      /^src\/flows\/hello-world\/screens\/start\.ts\(\d+,\d+\): error TS2561: Object literal may only specify known properties, but 'greting' does not exist in type '\{ readonly greeting: string; readonly error_message\?: string(?: \| undefined)?; \}'\. Did you mean to write 'greeting'\?$/m,
    );
    writeFileSync(start, typed);

    // A handler that routes to a screen the Flow JSON does not have is named with file and line.
    writeFileSync(start, readFileSync(start, 'utf8').replace("next('DONE'", "next('FINISHED'"));
    const broken = await runNode([join(copy, 'dist/src/cli/check.js')], { cwd: copy });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /error: src\/flows\/hello-world\/screens\/start\.ts line \d+: next\("FINISHED"\): "FINISHED" is not a screen/,
    );

    // flow.json changed and `npm run types` not run since: check says so.
    writeFileSync(start, typed);
    const flowFile = join(copy, 'src/flows/hello-world/flow.json');
    writeFileSync(flowFile, readFileSync(flowFile, 'utf8').replace('"title": "Thank you"', '"title": "Thanks"'));
    const stale = await runNode([join(copy, 'dist/src/cli/check.js')], { cwd: copy });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(
      'src/flows/hello-world/flow.generated.ts was generated from another version of src/flows/hello-world/flow.json: run `npm run types`',
    );
  }, 540_000);
});
