import type { AuditEvent } from '../audit';
import type { DecryptedEnvelope } from '../crypto';
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
    detail: trace.detail,
  };
}
