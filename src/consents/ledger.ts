import type { Knex } from 'knex';
import { csvCell } from '../compliance/report-format';
import { toDate } from '../storage';

/** One person whose effective consent to a purpose, at a moment, was a grant. */
export interface ConsentHolder {
  readonly subject_id: string;
  readonly purpose: string;
  readonly policy_version: string;
  readonly flow_id: string;
  readonly granted_at: string;
  readonly consent_id: string;
  readonly submission_id: string | null;
}

export const HOLDER_COLUMNS: readonly (keyof ConsentHolder)[] = [
  'subject_id',
  'purpose',
  'policy_version',
  'flow_id',
  'granted_at',
  'consent_id',
  'submission_id',
];

/**
 * "Who had consented to purpose P (under policy version V) as of D": for each subject, their
 * latest record for P at or before D; listed when it is a grant (under V, when given). A later
 * grant under another version replaces an earlier one, a withdrawal or a decline ends it. Reads
 * the `consents` view, so the read-only flowgate_compliance role can run it.
 */
export async function consentHoldersAsOf(
  knex: Knex,
  query: { readonly purpose: string; readonly policyVersion?: string; readonly asOf: Date },
): Promise<ConsentHolder[]> {
  const bindings: Knex.RawBinding[] = [query.purpose, query.asOf];
  let versionClause = '';
  if (query.policyVersion !== undefined) {
    versionClause = 'AND policy_version = ?';
    bindings.push(query.policyVersion);
  }
  const result = (await knex.raw(
    `SELECT * FROM (
       SELECT DISTINCT ON (subject_id) id, subject_id, purpose, policy_version, flow_id, decision, occurred_at, submission_id
       FROM consents WHERE purpose = ? AND occurred_at <= ?
       ORDER BY subject_id, seq DESC
     ) latest
     WHERE decision = 'granted' ${versionClause}
     ORDER BY occurred_at, subject_id`,
    bindings,
  )) as { rows: Record<string, unknown>[] };
  return result.rows.map((r) => ({
    subject_id: String(r.subject_id),
    purpose: String(r.purpose),
    policy_version: String(r.policy_version),
    flow_id: String(r.flow_id),
    granted_at: toDate(r.occurred_at).toISOString(),
    consent_id: String(r.id),
    submission_id: r.submission_id === null || r.submission_id === undefined ? null : String(r.submission_id),
  }));
}

/** RFC 4180 CSV with the formula-injection guard of the audit exports (csvCell). */
export function holdersToCsv(rows: readonly ConsentHolder[]): string {
  const lines = [HOLDER_COLUMNS.join(',')];
  for (const row of rows) lines.push(HOLDER_COLUMNS.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
