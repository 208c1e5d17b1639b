import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findStaleFlowTypes, generateFlowTypes, writeFlowTypes } from '../../src/flow-types';
import { compileFiles, expectedErrors, ROOT } from '../helpers/compile-fixture';

/**
 * Typed flows (issue #20): the types `npm run types` generates from a flow.json, what the compiler
 * then accepts and refuses in handlers, and the drift check.
 */

/** Polls `done` every 50 ms for up to 30 s. */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!done()) throw new Error('timed out waiting');
}

const FIXTURE = join(ROOT, 'test', 'fixtures', 'flows', 'typed-survey');
const GOOD = join(FIXTURE, 'index.ts');
const BAD = join(FIXTURE, 'type-errors.ts');

describe('when handlers are compiled against the generated types', () => {
  // One program for both files: compiling is the slow part.
  const badText = readFileSync(BAD, 'utf8');
  const expected = expectedErrors(badText);
  let diagnostics: ReturnType<typeof compileFiles>;
  let unmarked: ReturnType<typeof compileFiles>;
  beforeAll(() => {
    diagnostics = compileFiles([GOOD, BAD]);
    unmarked = compileFiles([BAD], { [BAD]: badText.replace(/\/\/ @ts-expect-error /g, '// was expected: ') });
  }, 120_000);

  it('then the right handlers, and the generated request types asserted in them, compile', () => {
    expect(diagnostics.get(GOOD)).toEqual([]);
  });

  it('then every marked mistake is refused, so the file with its markers compiles', () => {
    expect(expected.length).toBeGreaterThanOrEqual(12);
    expect(diagnostics.get(BAD)).toEqual([]);
  });

  it.each([
    ['screen-id', 'a wrong screen id'],
    ['route', 'a transition routing_model forbids'],
    ['handlers', 'handlers the Flow JSON does not call (or a missing one)'],
    ['missing-field', 'a missing declared field'],
    ['wrong-type', 'a wrong field type'],
    ['undeclared-field', 'a field the target does not declare'],
    ['request-field', "a field the screen's payload does not carry"],
    ['request-type', 'an optional or boolean input read as a string'],
    ['error-data', "showError data that is not the screen's"],
    ['params', 'completion params with flow_token or nested values'],
  ])('then %s (%s) fails to compile with the expected message', (label) => {
    const cases = expected.filter((e) => e.label === label);
    expect(cases.length).toBeGreaterThan(0);
    const errors = unmarked.get(BAD) ?? [];
    for (const c of cases) {
      const onLine = errors.filter((d) => d.line === c.line).map((d) => d.message);
      expect({ line: c.line, messages: onLine.join('\n') }).toEqual({
        line: c.line,
        messages: expect.stringContaining(c.fragment),
      });
    }
  });

  it('then no other line fails', () => {
    const lines = new Set(expected.map((e) => e.line));
    expect((unmarked.get(BAD) ?? []).filter((d) => !lines.has(d.line))).toEqual([]);
  });
});

/** Flow JSON with one screen S whose layout children are given; the Footer sends `payload`. */
function oneScreen(version: string, children: unknown[], payload: Record<string, unknown>, data = {}): string {
  return JSON.stringify({
    version,
    screens: [
      {
        id: 'S',
        terminal: true,
        data,
        layout: {
          type: 'SingleColumnLayout',
          children: [
            ...children,
            { type: 'Footer', label: 'Go', 'on-click-action': { name: 'data_exchange', payload } },
          ],
        },
      },
    ],
  });
}

const requestLine = (source: string): string => /readonly request: (.*);$/m.exec(source)?.[1] ?? '';
const options = { apiImport: '../typed-api', flowName: 'test' };

describe('when types are generated from Flow JSON', () => {
  it('then inputs of the same name in Switch cases become one optional union', () => {
    const text = oneScreen(
      '7.3',
      [
        {
          type: 'Switch',
          value: '${data.kind}',
          cases: {
            a: [{ type: 'OptIn', name: 'x', label: 'X', required: true }],
            b: [{ type: 'Dropdown', name: 'x', label: 'X', required: true, 'data-source': [{ id: 'p', title: 'P' }] }],
          },
        },
      ],
      { x: '${form.x}' },
      { kind: { type: 'string', __example__: 'a' } },
    );
    expect(requestLine(generateFlowTypes(text, options))).toBe('{ readonly x?: boolean | "p" }');
  });

  it('then a CalendarPicker whose mode is bound to data is typed as the request check reads it (a string)', () => {
    const text = oneScreen(
      '6.1',
      [{ type: 'CalendarPicker', name: 'd', label: 'D', mode: '${data.mode}', required: true }],
      { d: '${form.d}' },
    );
    expect(requestLine(generateFlowTypes(text, options))).toBe('{ readonly d: string }');
  });

  it('then older versions (3.0 DatePicker, no routing_model) still generate', () => {
    const text = oneScreen('3.0', [{ type: 'DatePicker', name: 'd', label: 'D', required: true }], {
      d: '${form.d}',
      n: 1.5,
      none: null,
      obj: { a: 1 },
      list: [1],
      unknown_input: '${form.nope}',
    });
    const source = generateFlowTypes(text, options);
    expect(requestLine(source)).toBe(
      '{ readonly d: string; readonly n: 1.5; readonly none: null; readonly obj: Readonly<Record<string, unknown>>; readonly list: readonly unknown[]; readonly unknown_input?: unknown }',
    );
    expect(source).toMatch(/readonly entry: 'S';/);
    expect(source).toMatch(/readonly next: 'S';/);
  });

  it('then a document that is not a Flow JSON is refused with the reason', () => {
    expect(() => generateFlowTypes('{"version":"7.3"}', options)).toThrow(/no "screens" array/);
    expect(() => generateFlowTypes('[1]', options)).toThrow(/must be a JSON object/);
  });

  it('then text from flow.json cannot leave its comment or literal in the generated module', () => {
    const text = oneScreen('7.3 */ require("child_process") /*', [], { "k'};/*": "x' } */ }", '${form.a}': 1 });
    const source = generateFlowTypes(text, { ...options, flowName: "evil*/'x" });
    expect(source).not.toMatch(/\*\/ require|evil\*\//);
    expect(requestLine(source)).toBe('{ readonly "k\'};/*": "x\' } */ }"; readonly "${form.a}": 1 }');
  });

  it('then the same flow.json always gives the same file', () => {
    const text = readFileSync(join(FIXTURE, 'flow.json'), 'utf8');
    expect(generateFlowTypes(text, options)).toBe(generateFlowTypes(text, options));
  });
});

describe('when flow.json changes and the types are not regenerated', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'flowgate-types-'));
    cpSync(join(ROOT, 'src', 'flow-types'), join(root, 'src', 'flow-types'), { recursive: true });
    mkdirSync(join(root, 'src', 'flows', 'survey'), { recursive: true });
    cpSync(join(FIXTURE, 'flow.json'), join(root, 'src', 'flows', 'survey', 'flow.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const types = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'src', 'flow-types', 'run.js'), ...args], { encoding: 'utf8' });
  const flowJson = () => join(root, 'src', 'flows', 'survey', 'flow.json');
  const generated = () => join(root, 'src', 'flows', 'survey', 'flow.generated.ts');

  it('then npm run types -- --check writes a missing file (a fresh clone has none) and passes', () => {
    const missing = types('--check');
    expect(missing.status).toBe(0);
    expect(missing.stdout).toContain('wrote src/flows/survey/flow.generated.ts');
    rmSync(generated());
    const written = types();
    expect(written.status).toBe(0);
    expect(written.stdout).toContain('wrote src/flows/survey/flow.generated.ts');
    expect(readFileSync(generated(), 'utf8')).toMatch(/from ["']\.\.\/\.\.\/flow-api["']/);
    expect(types('--check').status).toBe(0);
    expect(types('--quiet').stdout).toBe('');
  });

  it('then a changed flow.json is reported as stale, and a hand-edited file as edited', () => {
    writeFlowTypes(root);
    const json = JSON.parse(readFileSync(flowJson(), 'utf8')) as { screens: { data: Record<string, unknown> }[] };
    (json.screens[2] as { data: Record<string, unknown> }).data.stars = { type: 'integer', __example__: 5 };
    writeFileSync(flowJson(), JSON.stringify(json));
    expect(findStaleFlowTypes(root)).toEqual([
      { flowJson: 'src/flows/survey/flow.json', generated: 'src/flows/survey/flow.generated.ts', reason: 'stale' },
    ]);
    const check = types('--check');
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('was generated from another version of src/flows/survey/flow.json');

    writeFlowTypes(root);
    expect(readFileSync(generated(), 'utf8')).toContain('readonly stars: number');
    writeFileSync(
      generated(),
      readFileSync(generated(), 'utf8').replace('readonly stars: number', 'readonly stars: any'),
    );
    expect(findStaleFlowTypes(root).map((s) => s.reason)).toEqual(['edited']);
  });

  it("then a schema override replaces the screen's request type, and changing it makes the types stale", () => {
    writeFlowTypes(root);
    const overrideDir = join(root, 'schemas', 'flows', 'survey');
    mkdirSync(overrideDir, { recursive: true });
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, note: { type: 'string' } },
      required: ['ok'],
    };
    writeFileSync(join(overrideDir, 'THANKS.json'), JSON.stringify(schema));
    expect(findStaleFlowTypes(root).map((s) => s.reason)).toEqual(['stale']);
    writeFlowTypes(root);
    expect(requestLine(readFileSync(generated(), 'utf8').split('Screen THANKS')[1] ?? '')).toBe(
      '{ readonly ok: boolean; readonly note?: string }',
    );
    expect(findStaleFlowTypes(root)).toEqual([]);
    rmSync(join(root, 'schemas'), { recursive: true });
  });

  it("then npm run types -- --watch regenerates a flow's types when its flow.json is saved", async () => {
    writeFlowTypes(root);
    const child = spawn(process.execPath, [join(root, 'src', 'flow-types', 'run.js'), '--watch', '--quiet'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => out.includes('watching src/flows/survey/flow.json'));
      const json = JSON.parse(readFileSync(flowJson(), 'utf8')) as { screens: { data: Record<string, unknown> }[] };
      (json.screens[2] as { data: Record<string, unknown> }).data.watched = { type: 'boolean', __example__: true };
      writeFileSync(flowJson(), JSON.stringify(json));
      await waitFor(() => readFileSync(generated(), 'utf8').includes('readonly watched: boolean'));
      expect(findStaleFlowTypes(root)).toEqual([]);
    } finally {
      child.kill();
    }
  }, 60_000);

  it('then a flow.json that cannot be read fails npm run types with the file named', () => {
    writeFileSync(flowJson(), '{ "version": "7.3", ');
    const run = types();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: src\/flows\/survey\/flow\.json: cannot generate types \(/);
  });
});
