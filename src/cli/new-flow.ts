import { findProjectRoot, scaffoldFlow } from '../devtools';
import { exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run new-flow -- <flow-id>

Creates src/flows/<flow-id>/ (flow.json with two screens, one handler module per screen,
index.ts, walk.steps.json, and the git-ignored flow.generated.ts: the handler API typed from
flow.json), registers it in src/flows/registered.ts and writes test/flows/<flow-id>.test.ts,
which walks it. The id becomes the URL /flows/<flow-id>: lower-case letters, digits, "-" and "_".`;

export async function newFlowCommand(argv: string[], io: Io): Promise<number> {
  const { positionals } = parseCommandLine(argv, {});
  if (positionals.length !== 1) throw new UsageError('give exactly one flow id');
  const id = positionals[0];
  const root = findProjectRoot(process.cwd());
  const files = scaffoldFlow(root, id);
  files.forEach((f) =>
    io.out(
      `created ${f}`
        .replace('created src/flows/registered.ts', 'updated src/flows/registered.ts')
        .replace(/^created (.*flow\.generated\.ts)$/, 'generated $1 (npm run types; git-ignored)'),
    ),
  );
  io.out('');
  io.out('Next:');
  io.out(`  npm test -- test/flows/${id}.test.ts   (walks the new flow through the real service)`);
  io.out('  npm run check   (offline checks of every flow)');
  io.out(`  npm start, then: npm run simulate -- ${id} --script src/flows/${id}/walk.steps.json`);
  return 0;
}

if (require.main === module) exitWith(runCommand(USAGE, newFlowCommand));
