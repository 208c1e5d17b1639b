/**
 * Characters that never reach a log line or an audit row from a client string: C0 controls
 * (newlines forge log lines, ESC drives terminals), DEL, C1 controls, the line and paragraph
 * separators, and the bidirectional formatting characters (U+061C, U+200E/F, U+202A–202E,
 * U+2066–2069) that reorder how text is displayed ("Trojan Source", CVE-2021-42574), so a log
 * viewer or a spreadsheet would show something other than what is stored. Each is replaced by
 * U+FFFD, so a reader sees that something was removed.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const HAS_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export const REPLACEMENT = '\ufffd';

/** `text` with every unsafe character replaced by U+FFFD; the same string when there is none (cheap). */
export function safeText(text: string): string {
  return HAS_UNSAFE.test(text) ? text.replace(UNSAFE, REPLACEMENT) : text;
}

/** `safeText` applied to every string in a JSON-like value (keys included), to a bounded depth. */
export function safeDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return safeText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => safeDeep(v, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[safeText(k)] = safeDeep(v, depth + 1);
  return out;
}
