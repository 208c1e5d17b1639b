import { describeStale, findStaleFlowTypes, FlowTypesError, writeFlowTypes } from './files';

const USAGE = `Usage: npm run types [-- --check]

Writes flow.generated.ts next to every flow.json under src/flows/ and test/fixtures/flows/:
each screen's request and data types, its routes, and the handler API bound to them.
--check writes nothing and exits 1 when a generated file is missing or out of date.`;

/**
 * `npm run types`. Runs before the compiler (build, typecheck, lint, tests), straight from these
 * TypeScript sources through run.js, so it must stay small and import nothing outside this folder.
 */
export function main(argv: readonly string[], root: string): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--check' && a !== '--quiet');
  if (unknown.length > 0) {
    process.stderr.write(`unexpected argument "${unknown[0]}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    if (argv.includes('--check')) {
      const stale = findStaleFlowTypes(root);
      for (const s of stale) process.stderr.write(`error: ${describeStale(s)}\n`);
      return stale.length > 0 ? 1 : 0;
    }
    const report = writeFlowTypes(root);
    for (const file of report.written) process.stdout.write(`wrote ${file}\n`);
    if (!argv.includes('--quiet') || report.written.length > 0) {
      process.stdout.write(`flow types: ${report.written.length} written, ${report.unchanged.length} up to date\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof FlowTypesError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
}
