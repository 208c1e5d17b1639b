/**
 * What may be logged about an error thrown by developer code: its class, code and where it was
 * thrown — not its message. Messages of errors raised while handling user input often quote that
 * input (V8's `JSON.parse` SyntaxError quotes up to 10 characters of it; developers write
 * `new Error(\`bad email ${email}\`)`), and decrypted values never reach a log line (src/ARCHITECTURE.md,
 * rule 8). The stack frames, without the first line that repeats the message, still point the
 * developer at the failing line.
 */
export function errorSummary(err: unknown): { name: string; code?: unknown; at: string[] } {
  if (!(err instanceof Error)) return { name: `thrown ${err === null ? 'null' : typeof err}`, at: [] };
  const at = (err.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 5)
    .map((line) => line.trim());
  const code = (err as { code?: unknown }).code;
  return { name: err.name, ...(code === undefined ? {} : { code }), at };
}
