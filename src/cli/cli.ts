import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadVariables } from '../config';
import { EXIT_FAILURE, EXIT_USAGE, FlowgateError, operatorMessage } from '../errors';
import { isDatabaseUnavailable } from '../storage/database-errors';

/** A mistake in how a command was called: printed with the usage text, exit code 2. */
export class UsageError extends FlowgateError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** A command that ran but could not do what was asked (bad input file, wrong key…): exit code 1. */
export class CommandError extends FlowgateError {
  constructor(message: string) {
    super('command_failed', message);
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Longest command-line argument accepted: anything longer is a mistake (or an attack), never a value. */
export const MAX_ARG_LENGTH = 1000;

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandLine<T extends Options>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    // node's message quotes the offending argument: keep it short and printable.
    // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
    const message = (err as Error).message.replace(/[\u0000-\u001f\u007f]/g, '?');
    throw new UsageError(message.length > 300 ? `${message.slice(0, 300)}…` : message);
  }
}

/**
 * Runs a command's main function with uniform error handling, from the error catalogue
 * (src/errors/catalogue.ts): a FlowgateError prints one line — its message when the catalogue
 * exposes it, else its meaning and code — and exits with its exit code (2 also prints the usage).
 * An unreachable database says so; anything else prints its class and code, never its message
 * (src/errors/for-operator.ts).
 */
export async function runCommand(
  usage: string,
  main: (argv: string[], io: Io) => Promise<number>,
  io: Io = processIo,
): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(usage);
    return 0;
  }
  try {
    const huge = argv.findIndex((arg) => arg.length > MAX_ARG_LENGTH);
    if (huge >= 0) throw new UsageError(`argument ${huge + 1} is longer than ${MAX_ARG_LENGTH} characters`);
    return await main(argv, io);
  } catch (err) {
    if (err instanceof FlowgateError) {
      const line = `error: ${operatorMessage(err)}`;
      io.err(err.exitCode === EXIT_USAGE ? `${line}\n\n${usage}` : line);
      return err.exitCode;
    }
    if (isDatabaseUnavailable(err)) {
      const code = (err as { code?: unknown }).code;
      io.err(
        `error: the database cannot be reached${typeof code === 'string' ? ` (${code})` : ''}; ` +
          'check DATABASE_URL (or PGLITE_DATA_DIR) and that the server runs',
      );
      return EXIT_FAILURE;
    }
    io.err(`error: ${operatorMessage(err, debugging(io))}`);
    return EXIT_FAILURE;
  }
}

/** FLOWGATE_DEBUG; a bad value is noted, not a second failure on the way out of the first. */
function debugging(io: Io): boolean {
  try {
    return loadVariables(['FLOWGATE_DEBUG']).FLOWGATE_DEBUG;
  } catch (err) {
    io.err(`note: ${(err as Error).message}`);
    return false;
  }
}

/** Entry-point helper: `if (require.main === module) exitWith(runCommand(...))`. */
export function exitWith(code: Promise<number>): void {
  void code.then((c) => {
    process.exitCode = c;
  });
}
