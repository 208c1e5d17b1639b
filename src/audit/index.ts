export { AuditLog, auditArgument } from './audit-log';
export type { AuditLogOptions } from './audit-log';
export { COMPLIANCE_OUTCOMES, isComplianceOutcome } from './event';
export type {
  AuditActor,
  AuditEvent,
  AuditOutcome,
  ChainedAuditEvent,
  ComplianceAuditEvent,
  ComplianceOutcome,
  RequestAuditEvent,
  RequestOutcome,
} from './event';
export { AUDIT_COLUMNS, AUDIT_FIELDS, ACTOR_KEYS, columnsOf, eventOfRow, listedRowOf } from './record';
export type { AuditColumn, AuditColumns, AuditRow } from './record';
export { redactFields, REDACTED, SENSITIVE } from './redaction';
export type { RedactionRules } from './redaction';
export { canonicalJson, chainHash, GENESIS_HASH } from './chain';
export { verifyAuditLog } from './verify';
export type { VerifyReport, ChainReport, BrokenLink } from './verify';
export { queryAuditEvents, whereAudit } from './query';
export type { AuditQuery } from './query';
