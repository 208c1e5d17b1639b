import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadVariables } from '../config';
import { PrivateKeyError } from '../crypto';
import { DevtoolError } from '../devtools/errors';
import { RegistrationError } from '../flows';
import { isDatabaseUnavailable } from '../flows/database-errors';
import { DatabaseInUseError } from '../storage';

/** A mistake in how a command was called: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that ran but could not do what was asked (bad input file, wrong key…): exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
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
 * Runs a command's main function with uniform error handling: usage mistakes print the usage
 * (exit 2); known failures print one line (exit 1); unexpected errors print their message and
 * name only — never a stack that could carry data — unless FLOWGATE_DEBUG is set.
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
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${usage}`);
      return 2;
    }
    if (
      err instanceof CommandError ||
      err instanceof DevtoolError ||
      err instanceof ConfigError ||
      err instanceof PrivateKeyError ||
      err instanceof RegistrationError ||
      err instanceof DatabaseInUseError
    ) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    if (isDatabaseUnavailable(err)) {
      const code = (err as { code?: unknown }).code;
      io.err(
        `error: the database cannot be reached${typeof code === 'string' ? ` (${code})` : ''}; ` +
          'check DATABASE_URL (or PGLITE_DATA_DIR) and that the server runs',
      );
      return 1;
    }
    io.err(`error: ${(err as Error)?.name ?? 'Error'}: ${oneLine((err as Error)?.message ?? String(err))}`);
    if (debugging(io)) io.err(String((err as Error)?.stack));
    return 1;
  }
}

function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
  const text = message.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?').split('\n')[0] ?? '';
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Entry-point helper: `if (require.main === module) exitWith(runCommand(...))`. */
export function exitWith(code: Promise<number>): void {
  void code.then((c) => {
    process.exitCode = c;
  });
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
