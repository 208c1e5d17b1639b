import { createHash } from 'node:crypto';
import type { AuditEvent } from './event';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hashed form of an event: fixed keys, nulls for absent values, object keys sorted at every
 * depth (jsonb does not keep key order), the time as an ISO string with milliseconds.
 */
export function canonicalContent(event: AuditEvent): string {
  // The keys in canonicalJson's (sorted) order, written out: every event has the same top-level
  // shape, so only `fields` and `detail` need the generic walk. Equal, character for character,
  // to canonicalJson of the object with those keys (test/unit/audit-chain.test.ts holds them equal).
  return (
    `{"action":${text(event.action)}` +
    `,"detail":${event.detail === undefined ? 'null' : canonicalJson(event.detail)}` +
    `,"duration_ms":${event.durationMs === undefined ? 'null' : JSON.stringify(event.durationMs)}` +
    `,"fields":${event.fields === undefined ? 'null' : canonicalJson(event.fields)}` +
    `,"flow_id":${text(event.flowId)}` +
    `,"http_status":${event.httpStatus === undefined ? 'null' : JSON.stringify(event.httpStatus)}` +
    `,"kind":${JSON.stringify(event.kind)}` +
    `,"occurred_at":${JSON.stringify(event.occurredAt.toISOString())}` +
    `,"outcome":${text(event.outcome)}` +
    `,"request_id":${text(event.requestId)}` +
    `,"screen":${text(event.screen)}` +
    `,"subject_ref":${text(event.subjectRef)}` +
    `,"token_hash":${text(event.tokenHash)}}`
  );
}

/** The generic canonical form of the same fields (what canonicalContent must equal). */
export function canonicalContentGeneric(event: AuditEvent): string {
  return canonicalJson({
    kind: event.kind,
    occurred_at: event.occurredAt.toISOString(),
    request_id: event.requestId ?? null,
    flow_id: event.flowId ?? null,
    screen: event.screen ?? null,
    action: event.action ?? null,
    outcome: event.outcome,
    http_status: event.httpStatus ?? null,
    duration_ms: event.durationMs ?? null,
    token_hash: event.tokenHash ?? null,
    subject_ref: event.subjectRef ?? null,
    fields: event.fields ?? null,
    detail: event.detail ?? null,
  });
}

function text(value: string | undefined | null): string {
  return value === undefined || value === null ? 'null' : JSON.stringify(value);
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
