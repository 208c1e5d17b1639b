import { watch } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describeStale, findFlowJsonFiles, findStaleFlowTypes, FlowTypesError, writeFlowTypes } from './files';

const USAGE = `Usage: npm run types [-- --check | --watch]

Writes flow.generated.ts next to every flow.json under src/flows/ and test/fixtures/flows/:
each screen's request and data types, its routes, and the handler API bound to them.
--check  exits 1 when a generated file is stale or edited by hand (a missing one is written).
--watch  keeps running and regenerates a flow's types whenever its flow.json is saved, so the
         editor always shows the current ones (Ctrl-C stops it).
--quiet  prints nothing when nothing changed.`;

const OPTIONS = new Set(['--check', '--watch', '--quiet']);

/**
 * `npm run types`. Runs before the compiler (build, typecheck, lint, tests), straight from these
 * TypeScript sources through run.js, so it must stay small and import nothing outside this folder.
 * Returns the exit code, or undefined while --watch keeps the process alive.
 */
export function main(argv: readonly string[], root: string): number | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => !OPTIONS.has(a));
  if (unknown.length > 0) {
    process.stderr.write(`unexpected argument "${unknown[0]}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    if (argv.includes('--check')) {
      // A missing file is not drift: generated files are git-ignored, so a fresh clone has none.
      // It is written; a stale or hand-edited one is the error this mode exists for.
      const stale = findStaleFlowTypes(root);
      const missing = stale.filter((s) => s.reason === 'missing').map((s) => join(root, s.flowJson));
      if (missing.length > 0) {
        for (const file of writeFlowTypes(root, missing).written) process.stdout.write(`wrote ${file}\n`);
      }
      const drifted = stale.filter((s) => s.reason !== 'missing');
      for (const s of drifted) process.stderr.write(`error: ${describeStale(s)}\n`);
      return drifted.length > 0 ? 1 : 0;
    }
    const report = writeFlowTypes(root);
    for (const file of report.written) process.stdout.write(`wrote ${file}\n`);
    if (!argv.includes('--quiet') || report.written.length > 0) {
      process.stdout.write(`flow types: ${report.written.length} written, ${report.unchanged.length} up to date\n`);
    }
  } catch (err) {
    if (!(err instanceof FlowTypesError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    if (!argv.includes('--watch')) return 1;
  }
  if (!argv.includes('--watch')) return 0;
  watchFlows(root);
  return undefined;
}

/** Regenerates a flow's types when its flow.json changes (flows added later need a restart). */
function watchFlows(root: string): void {
  const timers = new Map<string, NodeJS.Timeout>();
  const regenerate = (file: string): void => {
    try {
      for (const written of writeFlowTypes(root, [file]).written) process.stdout.write(`wrote ${written}\n`);
    } catch (err) {
      // A half-saved flow.json is normal while editing: say so and wait for the next save.
      process.stderr.write(`error: ${(err as Error).message}\n`);
    }
  };
  const files = findFlowJsonFiles(root);
  for (const file of files) {
    // The folder, not the file: editors often save by replacing the file.
    watch(dirname(file), (_event, name) => {
      if (name !== null && join(dirname(file), String(name)) !== file) return;
      clearTimeout(timers.get(file));
      timers.set(
        file,
        setTimeout(() => regenerate(file), 100),
      );
    });
  }
  process.stdout.write(`watching ${files.map((f) => relative(root, f)).join(', ')}\n`);
}
