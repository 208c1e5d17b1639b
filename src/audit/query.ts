import type { Knex } from 'knex';
import { toDate, toJson, toNumber } from '../storage';

export interface AuditQuery {
  readonly flowId?: string;
  readonly from?: Date;
  readonly to?: Date;
  readonly outcome?: string;
  /** Subject refs to match (a phone number is turned into these before the query). */
  readonly subjectRefs?: readonly string[];
  readonly kind?: 'request' | 'compliance';
  readonly limit: number;
}

export interface AuditRow {
  readonly occurred_at: string;
  readonly kind: string;
  readonly flow_id: string | null;
  readonly screen: string | null;
  readonly action: string | null;
  readonly outcome: string;
  readonly http_status: number | null;
  readonly duration_ms: number | null;
  readonly request_id: string | null;
  readonly subject_ref: string | null;
  readonly fields: string | null;
  /** Non-personal facts: error kind, counts, and for compliance actions the operator and reason. */
  readonly detail: string | null;
  readonly chain: number;
  readonly seq: number;
}

export const AUDIT_COLUMNS: readonly (keyof AuditRow)[] = [
  'occurred_at',
  'kind',
  'flow_id',
  'screen',
  'action',
  'outcome',
  'http_status',
  'duration_ms',
  'request_id',
  'subject_ref',
  'fields',
  'detail',
  'chain',
  'seq',
];

export async function queryAuditEvents(knex: Knex, query: AuditQuery): Promise<AuditRow[]> {
  const q = knex('audit_events')
    .orderBy([{ column: 'occurred_at' }, { column: 'chain' }, { column: 'seq' }])
    .limit(query.limit);
  if (query.flowId) q.where({ flow_id: query.flowId });
  if (query.outcome) q.where({ outcome: query.outcome });
  if (query.kind) q.where({ kind: query.kind });
  if (query.from) q.where('occurred_at', '>=', query.from);
  if (query.to) q.where('occurred_at', '<', query.to);
  if (query.subjectRefs) q.whereIn('subject_ref', query.subjectRefs.length > 0 ? [...query.subjectRefs] : ['-']);
  const rows = (await q) as Record<string, unknown>[];
  return rows.map((r) => ({
    occurred_at: toDate(r.occurred_at).toISOString(),
    kind: String(r.kind),
    flow_id: (r.flow_id as string | null) ?? null,
    screen: (r.screen as string | null) ?? null,
    action: (r.action as string | null) ?? null,
    outcome: String(r.outcome),
    http_status: r.http_status === null ? null : toNumber(r.http_status),
    duration_ms: r.duration_ms === null ? null : toNumber(r.duration_ms),
    request_id: (r.request_id as string | null) ?? null,
    subject_ref: (r.subject_ref as string | null) ?? null,
    fields: r.fields === null ? null : JSON.stringify(toJson(r.fields)),
    detail: r.detail === null ? null : JSON.stringify(toJson(r.detail)),
    chain: toNumber(r.chain),
    seq: toNumber(r.seq),
  }));
}
