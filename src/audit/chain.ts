import { createHash } from 'node:crypto';
import type { AuditEvent } from './event';
import { columnsOf } from './record';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hashed form of an event: its columns (src/audit/record.ts) with nulls for absent values,
 * object keys sorted at every depth (jsonb does not keep key order), the time as an ISO string
 * with milliseconds.
 */
export function canonicalContent(event: AuditEvent): string {
  return canonicalJson(columnsOf(event));
}

/** hash = SHA-256(prev_hash | chain | seq | canonical content), hex. */
export function chainHash(prevHash: string, chain: number, seq: number, event: AuditEvent): string {
  return createHash('sha256')
    .update(`${prevHash}|${chain}|${seq}|${canonicalContent(event)}`, 'utf8')
    .digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
