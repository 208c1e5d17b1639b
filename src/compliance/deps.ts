import type { Knex } from 'knex';
import type { AuditLog, ComplianceAuditEvent, ComplianceOutcome } from '../audit';
import type { AtRestCipher } from '../crypto';
import type { Actor } from './actor';

/** What the compliance actions need; the CLI builds it from the service's own configuration. */
export interface ComplianceDeps {
  readonly knex: Knex;
  readonly cipher: AtRestCipher;
  readonly audit: AuditLog;
  readonly subjectHashKey: string;
}

/**
 * The audit event of a compliance action: who, why, what kind of action and how many rows — never
 * a phone number, a subject or a decrypted value.
 */
export function complianceEvent(
  outcome: ComplianceOutcome,
  actor: Actor,
  detail: Record<string, unknown>,
  flowId?: string,
): ComplianceAuditEvent {
  return {
    occurredAt: new Date(),
    kind: 'compliance',
    flowId,
    outcome,
    actor: { via: 'cli', operator: actor.operator, reason: actor.reason, osUser: actor.osUser },
    detail,
  };
}
