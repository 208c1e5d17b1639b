import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { flowJsonHash, generateFlowTypes, hashOfGenerated } from './generate';

/** Name of the generated module next to each flow.json (git-ignored). */
export const GENERATED_FILE = 'flow.generated.ts';

/** Folders whose sub-folders hold a flow.json each: the flows, and the test suite's fixture flows. */
const FLOW_FOLDERS = [join('src', 'flows'), join('test', 'fixtures', 'flows')];

/** Every flow.json the generator serves, as absolute paths, sorted. */
export function findFlowJsonFiles(root: string): string[] {
  return FLOW_FOLDERS.flatMap((folder) => {
    const dir = join(root, folder);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'flow.json')))
      .map((e) => join(dir, e.name, 'flow.json'));
  }).sort();
}

/**
 * Schema overrides of a flow (`schemas/flows/<flow-id>/<SCREEN>.json`, the flow id being its
 * folder's name, as `npm run new-flow` makes it): screen id → file text.
 */
function overridesFor(root: string, flowId: string): Record<string, string> {
  const dir = join(root, 'schemas', 'flows', flowId);
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => /^[A-Za-z_]+\.json$/.test(f))
      .map((f) => [f.slice(0, -'.json'.length), readFileSync(join(dir, f), 'utf8')]),
  );
}

/** The generated source for one flow.json (which must be inside `root`). */
export function flowTypesFor(root: string, flowJsonFile: string): string {
  const folder = dirname(flowJsonFile);
  const flowName = folder.split(sep).pop() ?? 'flow';
  let apiImport = relative(folder, join(root, 'src', 'flow-api'))
    .split(sep)
    .join('/');
  if (!apiImport.startsWith('.')) apiImport = `./${apiImport}`;
  const text = readFileSync(flowJsonFile, 'utf8');
  try {
    return generateFlowTypes(text, { apiImport, flowName, overrides: overridesFor(root, flowName) });
  } catch (err) {
    throw new FlowTypesError(`${relative(root, flowJsonFile)}: cannot generate types (${(err as Error).message})`);
  }
}

export class FlowTypesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlowTypesError';
  }
}

export interface WriteReport {
  /** Files (relative to root) written because they were missing or out of date. */
  readonly written: string[];
  readonly unchanged: string[];
}

/** Writes `flow.generated.ts` next to each flow.json (or the given ones) whose content would change. */
export function writeFlowTypes(root: string, flowJsonFiles = findFlowJsonFiles(root)): WriteReport {
  const report: WriteReport = { written: [], unchanged: [] };
  for (const file of flowJsonFiles) {
    const target = join(dirname(file), GENERATED_FILE);
    const source = flowTypesFor(root, file);
    const shown = relative(root, target);
    if (existsSync(target) && readFileSync(target, 'utf8') === source) {
      report.unchanged.push(shown);
      continue;
    }
    writeFileSync(target, source);
    report.written.push(shown);
  }
  return report;
}

export interface StaleTypes {
  /** The flow.json, relative to root. */
  readonly flowJson: string;
  readonly generated: string;
  readonly reason: 'missing' | 'stale' | 'edited';
}

/**
 * Generated files that do not match their flow.json: missing, made from another version of it
 * (flow.json changed and `npm run types` was not run, so the editor shows old types), or edited
 * by hand. Nothing is written.
 */
export function findStaleFlowTypes(root: string, flowJsonFiles = findFlowJsonFiles(root)): StaleTypes[] {
  const out: StaleTypes[] = [];
  for (const file of flowJsonFiles) {
    const target = join(dirname(file), GENERATED_FILE);
    const entry = { flowJson: relative(root, file), generated: relative(root, target) };
    if (!existsSync(target)) {
      out.push({ ...entry, reason: 'missing' });
      continue;
    }
    const current = readFileSync(target, 'utf8');
    const flowName = dirname(file).split(sep).pop() ?? 'flow';
    if (hashOfGenerated(current) !== flowJsonHash(readFileSync(file, 'utf8'), overridesFor(root, flowName))) {
      out.push({ ...entry, reason: 'stale' });
    } else if (current !== flowTypesFor(root, file)) {
      out.push({ ...entry, reason: 'edited' });
    }
  }
  return out;
}

/** One line per stale file, for `npm run check` and `npm run types -- --check`. */
export function describeStale(stale: StaleTypes): string {
  const why = {
    missing: 'does not exist',
    stale: `was generated from another version of ${stale.flowJson}`,
    edited: 'was edited by hand (or by another flowgate version)',
  }[stale.reason];
  return `${stale.generated} ${why}: run \`npm run types\``;
}
