import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, PROJECT_ROOT } from '../helpers/cli';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function exampleFlowJson(): Record<string, unknown> & {
  routing_model: Record<string, string[]>;
  screens: Record<string, unknown>[];
} {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'src/flows/book-appointment/flow.json'), 'utf8'));
}

describe('when a developer runs npm run check', () => {
  it('then every registered flow passes and the summary names them', async () => {
    const run = await runCli('check', []);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/checked 2 flows \(book-appointment, submit-claim\): 0 errors/);
  });

  it('then a Flow JSON with routing and binding mistakes fails, naming file, screen and JSON path', async () => {
    const json = exampleFlowJson();
    json.routing_model.DETAILS = ['SUMMARY', 'DETAILS'];
    json.routing_model.ORPHAN_A = ['ORPHAN_B'];
    json.routing_model.ORPHAN_B = ['ORPHAN_A'];
    const summary = json.screens[2] as { layout: { children: Record<string, unknown>[] } };
    summary.layout.children[1] = { type: 'TextBody', text: '${data.undeclared}' };
    json.screens.push(
      { id: 'ORPHAN_A', layout: { type: 'SingleColumnLayout', children: [] } },
      { id: 'ORPHAN_B', layout: { type: 'SingleColumnLayout', children: [] } },
    );
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(json));
    const run = await runCli('check', ['--file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file} /routing_model/DETAILS/1, screen DETAILS: "DETAILS" routes to itself`);
    expect(run.stderr).toContain(
      `${file} /screens/2/layout/children/1/text, screen SUMMARY: \${data.undeclared} is used but "undeclared" is not declared`,
    );
    expect(run.stderr).toMatch(
      /\/screens\/3, screen ORPHAN_A: screen "ORPHAN_A" cannot be reached from the entry screen/,
    );
    expect(run.stderr).toMatch(/no route from "ORPHAN_A" reaches a terminal screen/);
  });

  it('then a Flow JSON without a terminal screen or data_api_version fails', async () => {
    const json = exampleFlowJson();
    delete json.data_api_version;
    delete json.screens[2].terminal;
    const file = join(dir, 'no-terminal.json');
    writeFileSync(file, JSON.stringify(json));
    const run = await runCli('check', ['--file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\/data_api_version: data_api_version must be "3.0"/);
    expect(run.stderr).toMatch(/no terminal screen/);
  });

  it('then a file that is not JSON fails with the parser message', async () => {
    const file = join(dir, 'truncated.json');
    writeFileSync(file, '{"version": "6.0", "screens": [,]}');
    const run = await runCli('check', ['--file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/truncated\.json: not valid JSON: Unexpected token/);
  });

  it('then an unknown flow id is refused', async () => {
    const run = await runCli('check', ['--flow', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no registered flow "nope"/);
  });
});
