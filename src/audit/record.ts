import { toDate, toJson, toNumber } from '../storage';
import type { AuditActor, AuditEvent } from './event';

/**
 * The audit record's fields, defined once: the event property, its column in `audit_events` (also
 * its key in the canonical content the hash covers, and in the JSON `audit_append` inserts from),
 * how its value is written and read, and whether the query CLI lists it. The writer
 * (src/audit/audit-log.ts), the hash chain (src/audit/chain.ts), the verifier (src/audit/verify.ts)
 * and the query (src/audit/query.ts) all derive from this table. The columns and their canonical
 * form are fixed by the rows already chained: changing one would break every existing hash.
 */
export const AUDIT_FIELDS = [
  { property: 'occurredAt', column: 'occurred_at', type: 'timestamp', listed: true },
  { property: 'kind', column: 'kind', type: 'text', listed: true },
  { property: 'flowId', column: 'flow_id', type: 'text', listed: true },
  { property: 'screen', column: 'screen', type: 'text', listed: true },
  { property: 'action', column: 'action', type: 'text', listed: true },
  { property: 'outcome', column: 'outcome', type: 'text', listed: true },
  { property: 'httpStatus', column: 'http_status', type: 'integer', listed: true },
  { property: 'durationMs', column: 'duration_ms', type: 'integer', listed: true },
  { property: 'requestId', column: 'request_id', type: 'text', listed: true },
  { property: 'subjectRef', column: 'subject_ref', type: 'text', listed: true },
  { property: 'fields', column: 'fields', type: 'json', listed: true },
  { property: 'detail', column: 'detail', type: 'json', listed: true },
  // A token's events correlate through it; the query lists it not, as it names a credential's row.
  { property: 'tokenHash', column: 'token_hash', type: 'text', listed: false },
] as const satisfies readonly AuditField[];

interface AuditField {
  readonly property: Exclude<keyof AuditEvent, 'actor'>;
  readonly column: string;
  readonly type: 'timestamp' | 'text' | 'integer' | 'json';
  readonly listed: boolean;
}

type Field = (typeof AUDIT_FIELDS)[number];
export type AuditColumn = Field['column'];

// Every property of an event (but the actor, kept in `detail`) has its field: a compile error otherwise.
type Missing = Exclude<Exclude<keyof AuditEvent, 'actor'>, Field['property']>;
const everyPropertyDefined: [Missing] extends [never] ? true : Missing = true;
void everyPropertyDefined;

/**
 * The actor's keys in `detail`: where compliance events kept who acted before the actor was a
 * field of its own, so old and new rows read, query and verify alike.
 */
export const ACTOR_KEYS = {
  via: 'via',
  operator: 'operator',
  reason: 'reason',
  osUser: 'os_user',
  databaseUser: 'database_user',
} as const satisfies Record<keyof AuditActor, string>;

/** JSON values by column: what `audit_append` inserts, and (canonicalised) what the hash covers. */
export type AuditColumns = Record<AuditColumn, string | number | Readonly<Record<string, unknown>> | null>;

/**
 * The stored `detail`: for a compliance event, its facts with the actor's keys. A text under an
 * actor's key is the actor's, so only the actor writes one (a fact's text there is dropped: it
 * would read back as the actor); `eventOfRow` reads it back the same way.
 */
function storedDetail(event: AuditEvent): Readonly<Record<string, unknown>> | undefined {
  if (event.kind !== 'compliance' || !isPlainObject(event.detail ?? {})) return event.detail;
  const actorKeys = Object.values(ACTOR_KEYS) as string[];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event.detail ?? {})) {
    if (!(typeof value === 'string' && actorKeys.includes(key))) out[key] = value;
  }
  for (const [property, key] of Object.entries(ACTOR_KEYS)) {
    const value = event.actor[property as keyof AuditActor];
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length === 0 && event.detail === undefined ? undefined : out;
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The event as its columns: absent values are null, the time an ISO string with milliseconds. */
export function columnsOf(event: AuditEvent): AuditColumns {
  const out = {} as Record<AuditColumn, AuditColumns[AuditColumn]>;
  for (const field of AUDIT_FIELDS) {
    const value = field.property === 'detail' ? storedDetail(event) : event[field.property];
    out[field.column] =
      value === undefined || value === null ? null : value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

/**
 * An event from its stored row: the inverse of `columnsOf`, so `columnsOf(eventOfRow(row))` gives
 * back what was stored and verify recomputes the same hash. A compliance row's actor is read out of
 * `detail` (only string values, so nothing is lost or changed on the way back).
 */
export function eventOfRow(row: Readonly<Record<string, unknown>>): AuditEvent {
  const event: Record<string, unknown> = {};
  for (const field of AUDIT_FIELDS) {
    const value = row[field.column];
    if (value === null || value === undefined) continue;
    event[field.property] =
      field.type === 'timestamp'
        ? toDate(value)
        : field.type === 'integer'
          ? toNumber(value)
          : field.type === 'json'
            ? toJson(value)
            : String(value);
  }
  if (event.kind === 'compliance' && isPlainObject(event.detail ?? {})) {
    const rest = { ...((event.detail as Record<string, unknown> | undefined) ?? {}) };
    const actor: Record<string, string> = {};
    for (const [property, key] of Object.entries(ACTOR_KEYS)) {
      const value = rest[key];
      if (typeof value !== 'string') continue;
      actor[property] = value;
      delete rest[key];
    }
    event.actor = actor;
    if (Object.keys(actor).length > 0) {
      if (Object.keys(rest).length === 0) delete event.detail;
      else event.detail = rest;
    }
  }
  return event as unknown as AuditEvent;
}

/** One listed row of the query CLI: the listed columns in display form, and the row's place in its chain. */
export type AuditRow = {
  readonly [F in Extract<Field, { listed: true }> as F['column']]: F['type'] extends 'integer'
    ? number | null
    : F['type'] extends 'timestamp'
      ? string
      : string | null;
} & { readonly chain: number; readonly seq: number };

/** The query's columns, in the order the CLI prints them (CSV header, JSON keys). */
export const AUDIT_COLUMNS: readonly (keyof AuditRow)[] = [
  ...AUDIT_FIELDS.filter((f) => f.listed).map((f) => f.column as keyof AuditRow),
  'chain',
  'seq',
];

/** A stored row in the query's display form: JSON columns as JSON text, times as ISO strings. */
export function listedRowOf(row: Readonly<Record<string, unknown>>): AuditRow {
  const out: Record<string, unknown> = {};
  for (const field of AUDIT_FIELDS) {
    if (!field.listed) continue;
    const value = row[field.column];
    out[field.column] =
      field.type === 'timestamp'
        ? toDate(value).toISOString()
        : value === null || value === undefined
          ? null
          : field.type === 'integer'
            ? toNumber(value)
            : field.type === 'json'
              ? JSON.stringify(toJson(value))
              : String(value);
  }
  out.chain = toNumber(row.chain);
  out.seq = toNumber(row.seq);
  return out as AuditRow;
}
