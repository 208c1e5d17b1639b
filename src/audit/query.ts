import type { Knex } from 'knex';
import type { AuditOutcome } from './event';
import { listedRowOf, type AuditRow } from './record';

export interface AuditQuery {
  readonly flowId?: string;
  readonly from?: Date;
  readonly to?: Date;
  readonly outcome?: AuditOutcome;
  /** Subject refs to match (a phone number is turned into these before the query). */
  readonly subjectRefs?: readonly string[];
  readonly kind?: 'request' | 'compliance';
  readonly limit: number;
}

/**
 * Filters shared by the query CLI and the console's audit page (src/console/queries.ts): each
 * given filter narrows `q`, an `audit_events` query.
 */
export function whereAudit(
  q: Knex.QueryBuilder,
  filter: Omit<AuditQuery, 'limit'> & { readonly httpStatus?: number },
): Knex.QueryBuilder {
  if (filter.flowId) q.where({ flow_id: filter.flowId });
  if (filter.outcome) q.where({ outcome: filter.outcome });
  if (filter.httpStatus !== undefined) q.where({ http_status: filter.httpStatus });
  if (filter.kind) q.where({ kind: filter.kind });
  if (filter.from) q.where('occurred_at', '>=', filter.from);
  if (filter.to) q.where('occurred_at', '<', filter.to);
  if (filter.subjectRefs) q.whereIn('subject_ref', filter.subjectRefs.length > 0 ? [...filter.subjectRefs] : ['-']);
  return q;
}

/** Audit rows in the query's display form (src/audit/record.ts), oldest first. */
export async function queryAuditEvents(knex: Knex, query: AuditQuery): Promise<AuditRow[]> {
  const q = knex('audit_events')
    .orderBy([{ column: 'occurred_at' }, { column: 'chain' }, { column: 'seq' }])
    .limit(query.limit);
  const rows = (await whereAudit(q, query)) as Record<string, unknown>[];
  return rows.map(listedRowOf);
}
