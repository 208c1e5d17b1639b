/**
 * Keys whose values never reach a log line, at any depth. The code never logs decrypted data on
 * purpose; this is the second line of defence for the day someone logs an object carelessly.
 */
/** Compared lower-cased with `-` and `_` removed, so `flow_token`, `flowToken` and `Flow-Token` all match. */
const REDACTED_KEYS = new Set([
  'data',
  'payload',
  'answers',
  'submission',
  'params',
  'flowtoken',
  'token',
  'phone',
  'password',
  'passphrase',
  'secret',
  'authorization',
  'cookie',
  'encryptedflowdata',
  'encryptedaeskey',
  'initialvector',
  'aeskey',
  'key',
  'body',
]);

const MAX_DEPTH = 6;

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[truncated]';
  if (Buffer.isBuffer(value)) return '[bytes]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = REDACTED_KEYS.has(k.toLowerCase().replace(/[-_]/g, '')) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}
