import type { AuditEvent } from '../audit';
import type { DecryptedEnvelope } from '../crypto';
import { safeDeep } from '../logging';
import type { FlowHttpRequest } from './endpoint-types';
import type { RegisteredFlow } from './registry';

/** What is known about a request so far, for its audit event and log line. */
export interface Trace {
  flow?: RegisteredFlow;
  screen?: string;
  action?: string;
  tokenHash?: string;
  subjectRef?: string;
  fields?: Record<string, string>;
  detail?: Record<string, unknown>;
  envelope?: DecryptedEnvelope;
  /**
   * Set for an error notification past its token's limits (src/endpoint/error-notification.ts): the
   * request is answered and counted in metrics, without an audit event or a log line.
   */
  unaudited?: boolean;
  /** An error notification's kept key (a documented key, "(other)", or null), for metrics. */
  noticeKey?: string | null;
}

/** The request's one audit event, from what its trace knows (redacted fields only, never values). */
export function auditEventOf(
  trace: Trace,
  input: FlowHttpRequest,
  outcome: string,
  status: number,
  started: number,
): AuditEvent {
  return {
    occurredAt: new Date(),
    kind: 'request',
    requestId: input.requestId,
    flowId: trace.flow?.id,
    screen: trace.screen,
    action: trace.action,
    outcome,
    httpStatus: status,
    durationMs: Math.round(performance.now() - started),
    tokenHash: trace.tokenHash,
    subjectRef: trace.subjectRef,
    fields: trace.fields,
    // Details are ours, but may quote a request's structure (a validation error's path): no
    // control or bidi character of it reaches the append-only log.
    detail: trace.detail === undefined ? undefined : (safeDeep(trace.detail) as Record<string, unknown>),
  };
}
