import type { Knex } from 'knex';
import { AUDIT_COLUMNS, listedRowOf, whereAudit, type AuditRow } from '../audit';
import { toDate, toJson, toNumber } from '../storage';

/** The console's reads: each runs inside ConsoleDb.read, as flowgate_compliance, times in UTC. */

const DAY_MS = 86_400_000;

export interface Overview {
  readonly since: string;
  readonly days: readonly string[];
  /** Requests per day by outcome: one series per outcome, aligned with `days`. */
  readonly outcomes: readonly { readonly outcome: string; readonly counts: readonly number[] }[];
  readonly refusals: readonly { readonly status: number; readonly reason: string; readonly count: number }[];
  readonly latency: readonly { readonly day: string; readonly p50: number; readonly p99: number }[];
  readonly totalRequests: number;
}

const dayOf = (d: Date): string => d.toISOString().slice(0, 10);

export async function overview(trx: Knex.Transaction, days: number, now = new Date()): Promise<Overview> {
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (days - 1) * DAY_MS);
  const dayList = Array.from({ length: days }, (_, i) => dayOf(new Date(since.getTime() + i * DAY_MS)));
  const perDay = (
    (await trx.raw(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, outcome, sum(events) AS n
         FROM audit_daily_outcomes WHERE day >= ? GROUP BY 1, 2 ORDER BY 1, 2`,
      [since],
    )) as { rows: Record<string, unknown>[] }
  ).rows;
  const byOutcome = new Map<string, number[]>();
  let total = 0;
  for (const r of perDay) {
    const outcome = String(r.outcome);
    const counts = byOutcome.get(outcome) ?? dayList.map(() => 0);
    const i = dayList.indexOf(String(r.day));
    const n = toNumber(r.n);
    if (i >= 0) counts[i] = (counts[i] ?? 0) + n;
    total += n;
    byOutcome.set(outcome, counts);
  }
  const refusals = (
    (await trx.raw(
      `SELECT http_status, outcome, count(*) AS n FROM audit_events
        WHERE kind = 'request' AND http_status >= 400 AND occurred_at >= ?
        GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 25`,
      [since],
    )) as { rows: Record<string, unknown>[] }
  ).rows.map((r) => ({ status: toNumber(r.http_status), reason: String(r.outcome), count: toNumber(r.n) }));
  const latency = (
    (await trx.raw(
      `SELECT to_char(date_trunc('day', occurred_at), 'YYYY-MM-DD') AS day,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
         FROM audit_events WHERE kind = 'request' AND duration_ms IS NOT NULL AND occurred_at >= ?
        GROUP BY 1 ORDER BY 1`,
      [since],
    )) as { rows: Record<string, unknown>[] }
  ).rows.map((r) => ({ day: String(r.day), p50: toNumber(r.p50), p99: toNumber(r.p99) }));
  return {
    since: since.toISOString(),
    days: dayList,
    outcomes: [...byOutcome].map(([outcome, counts]) => ({ outcome, counts })),
    refusals,
    latency,
    totalRequests: total,
  };
}

export interface AuditFilter {
  readonly flow?: string;
  readonly outcome?: string;
  readonly status?: number;
  readonly kind?: 'request' | 'compliance';
  /** Inclusive, UTC day start. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
  readonly subject?: string;
}

/** A row of the audit page: the query CLI's row (src/audit/record.ts). */
export type AuditListRow = AuditRow;

export const PAGE_SIZE = 50;

/** Newest first; one row more than a page tells whether a next page exists. */
export async function auditPage(
  trx: Knex.Transaction,
  filter: AuditFilter,
  page: number,
): Promise<{ rows: AuditListRow[]; hasNext: boolean }> {
  const q = trx('audit_events')
    .select(AUDIT_COLUMNS)
    .orderBy([
      { column: 'occurred_at', order: 'desc' },
      { column: 'chain', order: 'desc' },
      { column: 'seq', order: 'desc' },
    ])
    .limit(PAGE_SIZE + 1)
    .offset((page - 1) * PAGE_SIZE);
  whereAudit(q, {
    flowId: filter.flow,
    outcome: filter.outcome,
    httpStatus: filter.status,
    kind: filter.kind,
    from: filter.from,
    to: filter.to,
    subjectRefs: filter.subject ? [filter.subject] : undefined,
  });
  const rows = ((await q) as Record<string, unknown>[]).map(listedRowOf);
  return { rows: rows.slice(0, PAGE_SIZE), hasNext: rows.length > PAGE_SIZE };
}

export interface InventoryRow {
  readonly flowId: string;
  readonly keyId: string;
  readonly count: number;
  readonly due: number;
  readonly oldest: string;
  readonly newest: string;
}

/** Submissions per flow and key id, and how many are older than the retention period. */
export async function inventory(trx: Knex.Transaction, retentionDays: number, now = new Date()) {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  const rows = (await trx('submission_inventory')
    .select('flow_id', 'key_id')
    .count('* as n')
    .select(trx.raw('count(*) FILTER (WHERE created_at < ?) AS due', [cutoff]))
    .min('created_at as oldest')
    .max('created_at as newest')
    .groupBy('flow_id', 'key_id')
    .orderBy(['flow_id', 'key_id'])) as Record<string, unknown>[];
  const out: InventoryRow[] = rows.map((r) => ({
    flowId: String(r.flow_id),
    keyId: String(r.key_id),
    count: toNumber(r.n),
    due: toNumber(r.due),
    oldest: toDate(r.oldest).toISOString(),
    newest: toDate(r.newest).toISOString(),
  }));
  return { cutoff: cutoff.toISOString(), rows: out };
}

export interface ActionRow {
  readonly occurredAt: string;
  readonly outcome: string;
  readonly detail: Record<string, unknown>;
}

/** The compliance actions log, newest first; page views of the console only when asked for. */
export async function actionsPage(
  trx: Knex.Transaction,
  page: number,
  includeViews: boolean,
): Promise<{ rows: ActionRow[]; hasNext: boolean }> {
  const q = trx('compliance_actions')
    .select('occurred_at', 'outcome', 'detail')
    .orderBy('occurred_at', 'desc')
    .limit(PAGE_SIZE + 1)
    .offset((page - 1) * PAGE_SIZE);
  if (!includeViews) q.whereNot({ outcome: 'console_viewed' });
  const rows = ((await q) as Record<string, unknown>[]).map((r) => ({
    occurredAt: toDate(r.occurred_at).toISOString(),
    outcome: String(r.outcome),
    detail: (r.detail === null ? {} : toJson(r.detail)) as Record<string, unknown>,
  }));
  return { rows: rows.slice(0, PAGE_SIZE), hasNext: rows.length > PAGE_SIZE };
}

export async function passwordHashOf(trx: Knex.Transaction, username: string): Promise<string | undefined> {
  const row = (await trx('console_users').where({ username }).first('password_hash')) as
    { password_hash: string } | undefined;
  return row?.password_hash;
}
