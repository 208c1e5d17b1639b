/**
 * What a compliance action is recorded as. Closed: a new compliance action adds its outcome here,
 * so the query CLI, the console and the tests know every one there is.
 */
export const COMPLIANCE_OUTCOMES = [
  'token_issued',
  'token_revoked',
  'submission_read',
  'submission_read_failed',
  'submissions_purged',
  'submissions_reencrypted',
  'subject_exported',
  'subject_erased',
  'consent_withdrawn',
  'console_user_added',
  'console_user_password_set',
  'console_user_removed',
  'console_signed_in',
  'console_sign_in_failed',
  'console_signed_out',
  'console_viewed',
  'console_audit_verified',
  'console_subject_lookup',
  'console_subject_viewed',
] as const;

export type ComplianceOutcome = (typeof COMPLIANCE_OUTCOMES)[number];

/**
 * What a request was answered with: a screen outcome, a protocol error code, a webhook or media
 * result. Open for now: part of it is named by the requests themselves (a Meta alert's event name).
 */
export type RequestOutcome = string;

export type AuditOutcome = RequestOutcome | ComplianceOutcome;

export function isComplianceOutcome(value: string): value is ComplianceOutcome {
  return (COMPLIANCE_OUTCOMES as readonly string[]).includes(value);
}

/**
 * Who performed a compliance action, through what. `operator` and `reason` are typed by the person
 * (a claim); `osUser` is what this process reports; `databaseUser` is the login of the connection
 * that writes the event, added by the audit log and checked by the database (migration
 * 20261129000008). Stored in the `detail` column under the keys of src/audit/record.ts, so rows
 * written before the actor became a field of its own read and verify unchanged.
 */
export interface AuditActor {
  readonly via: 'api' | 'cli' | 'console';
  readonly operator?: string;
  readonly reason?: string;
  readonly osUser?: string;
  readonly databaseUser?: string;
}

interface AuditEventBase {
  readonly occurredAt: Date;
  readonly requestId?: string;
  readonly flowId?: string;
  readonly screen?: string;
  readonly action?: string;
  readonly httpStatus?: number;
  readonly durationMs?: number;
  /** Truncated SHA-256 of the token id: correlates one token's events, grants nothing. */
  readonly tokenHash?: string;
  /** HMAC of the subject under the subject's own salt (see tokens/subject.ts). */
  readonly subjectRef?: string;
  /** Submitted field names → `[redacted]`, `[sensitive]` or an allowlisted value. */
  readonly fields?: Readonly<Record<string, string>>;
  /** Non-personal facts about the outcome (error kind, counts). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** What happened to one request (flow, webhook, media, rate limit). */
export interface RequestAuditEvent extends AuditEventBase {
  readonly kind: 'request';
  readonly outcome: RequestOutcome;
  readonly actor?: undefined;
}

/** A compliance action: always with who performed it. */
export interface ComplianceAuditEvent extends AuditEventBase {
  readonly kind: 'compliance';
  readonly outcome: ComplianceOutcome;
  readonly actor: AuditActor;
}

/** One audit event before it is chained. Allowlisted fields only, never a dump. */
export type AuditEvent = RequestAuditEvent | ComplianceAuditEvent;

export type ChainedAuditEvent = AuditEvent & {
  readonly chain: number;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
};
