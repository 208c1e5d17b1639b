import { randomUUID } from 'node:crypto';
import type { SqlTransaction } from '../storage';
import type { RegisteredConsent } from './declaration';
import { insertConsentRecord } from './records';

export interface CompletionConsents {
  readonly flowId: string;
  readonly consents: readonly RegisteredConsent[];
  readonly subjectId: string;
  readonly submissionId: string;
  /** The session's answers per screen (payload keys), the completing screen's included. */
  readonly answers: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly requestId: string;
}

/** What the completion's audit event says about each consent it recorded (no personal data). */
export interface RecordedConsent {
  readonly consent_id: string;
  readonly purpose: string;
  readonly policy_version: string;
  readonly decision: 'granted' | 'declined';
}

/**
 * Writes one consent record per declared consent the session answered, inside the completion's
 * transaction (so the submission and its consents are stored together or not at all), and
 * returns what the completion's audit event records about them — the same event, in the same
 * transaction, so the audit log keeps one request event per request. `true` is granted, `false`
 * declined; a consent whose screen was never answered (a branch the person did not take)
 * records nothing. The value comes from the validated answers the person sent, never from the
 * handler's result.
 */
export async function recordCompletionConsents(tx: SqlTransaction, c: CompletionConsents): Promise<RecordedConsent[]> {
  const recorded: RecordedConsent[] = [];
  for (const consent of c.consents) {
    const value = c.answers[consent.screen]?.[consent.payloadKey];
    if (typeof value !== 'boolean') continue;
    const id = randomUUID();
    const decision = value ? 'granted' : 'declined';
    await insertConsentRecord(tx, {
      id,
      subjectId: c.subjectId,
      flowId: c.flowId,
      purpose: consent.purpose,
      policyUrl: consent.policyUrl,
      policyVersion: consent.policyVersion,
      decision,
      source: 'submission',
      submissionId: c.submissionId,
      requestId: c.requestId,
    });
    recorded.push({ consent_id: id, purpose: consent.purpose, policy_version: consent.policyVersion, decision });
  }
  return recorded;
}
