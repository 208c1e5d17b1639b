/** One audit event before it is chained. Allowlisted fields only, never a dump. */
export interface AuditEvent {
  readonly occurredAt: Date;
  readonly kind: 'request' | 'compliance';
  readonly requestId?: string;
  readonly flowId?: string;
  readonly screen?: string;
  readonly action?: string;
  readonly outcome: string;
  readonly httpStatus?: number;
  readonly durationMs?: number;
  /** Truncated SHA-256 of the token id: correlates one token's events, grants nothing. */
  readonly tokenHash?: string;
  /** HMAC of the subject under the subject's own salt (see tokens/subject.ts). */
  readonly subjectRef?: string;
  /** Submitted field names → `[redacted]`, `[sensitive]` or an allowlisted value. */
  readonly fields?: Readonly<Record<string, string>>;
  /** Non-personal facts about the outcome (error kind, counts, operator). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ChainedAuditEvent extends AuditEvent {
  readonly chain: number;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}
