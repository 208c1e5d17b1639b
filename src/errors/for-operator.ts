import { errorSummary } from '../logging/error-summary';
import { EXIT_FAILURE } from './catalogue';
import { FlowgateError } from './flowgate-error';

/**
 * What a command prints on stderr about an error that stopped it, and what src/main.ts prints
 * when the service cannot start: a FlowgateError's public message (its message only when the
 * catalogue exposes it); for anything else its class and code — a system or SQLSTATE code names
 * the problem without quoting anything, while a database or library message can quote a value —
 * and, with FLOWGATE_DEBUG set, its stack frames without the message line.
 */
export function operatorMessage(err: unknown, debug = Boolean(process.env.FLOWGATE_DEBUG)): string {
  if (err instanceof FlowgateError) return err.publicMessage;
  const summary = errorSummary(err);
  const code = typeof summary.code === 'string' || typeof summary.code === 'number' ? ` (${summary.code})` : '';
  const head = `unexpected ${printable(`${summary.name}${code}`)}`;
  if (!debug) return `${head}; set FLOWGATE_DEBUG=1 to see where it was thrown`;
  return [head, ...summary.at.map((frame) => `    ${printable(frame)}`)].join('\n');
}

/** The exit code of a command (or the service) stopped by `err`. */
export function exitCodeOf(err: unknown): number {
  return err instanceof FlowgateError ? err.exitCode : EXIT_FAILURE;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}
