import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkFlowJsonText, checkFlows, formatDiagnostic, type FlowDiagnostic } from '../devtools';
import { describeStale, findStaleFlowTypes } from '../flow-types';
import { registeredFlows } from '../flows/registered';
import { loadVariables } from '../config';
import { paths, projectRoot } from '../paths';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run check -- [--flow <flow-id>] [--file <flow.json>] [--production]

Validates every registered flow offline (or one with --flow): Flow JSON structure, routing model
(entry screen, terminal screens, no self-routes, every screen reachable), \${data.x} and \${form.x}
bindings, handlers for every screen that calls the endpoint, schemas, what onInit returns and the
next('SCREEN') calls in the handler modules, https-only URLs (open_url targets, endpoint_uri),
and that each flow.generated.ts (npm run types) is up to date with its flow.json. --file checks a
Flow JSON file that is not registered. --production (or NODE_ENV=production) checks as a
production build does: a non-https URL is then an error, not a warning.
Exit code 1 when there is an error; warnings alone exit 0.`;

export async function checkCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    flow: { type: 'string' },
    file: { type: 'string' },
    production: { type: 'boolean' },
  });
  // The one setting this offline tool reads from the environment: it checks what a production start would refuse.
  const production = values.production === true || loadVariables(['NODE_ENV']).NODE_ENV === 'production';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  let diagnostics: FlowDiagnostic[];
  let checked: string;
  if (values.file) {
    let text: string;
    try {
      text = readFileSync(resolve(values.file), 'utf8');
    } catch (err) {
      throw new CommandError(`${values.file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    diagnostics = checkFlowJsonText(text, values.file, { production });
    checked = values.file;
  } else {
    const flows = values.flow ? registeredFlows.filter((f) => f.id === values.flow) : registeredFlows;
    if (values.flow && flows.length === 0) {
      throw new CommandError(`no registered flow "${values.flow}" (see src/flows/registered.ts)`);
    }
    const root = projectRoot();
    diagnostics = await checkFlows(flows, {
      flowsDir: join(root, 'src', 'flows'),
      schemaOverridesDir: paths.schemaOverrides,
      root,
      production,
    });
    checked = `${flows.length} flow${flows.length === 1 ? '' : 's'} (${flows.map((f) => f.id).join(', ')})`;
    // `npm run check` runs this before building too; here it catches a flow.json edited since.
    for (const stale of findStaleFlowTypes(root)) {
      diagnostics.push({ severity: 'error', flowId: undefined, file: stale.flowJson, message: describeStale(stale) });
    }
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  for (const d of diagnostics) (d.severity === 'error' ? io.err : io.out)(formatDiagnostic(d));
  const warnings = diagnostics.length - errors.length;
  const summary = `checked ${checked}: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  (errors.length > 0 ? io.err : io.out)(summary);
  return errors.length > 0 ? 1 : 0;
}

if (require.main === module) exitWith(runCommand(USAGE, checkCommand));
