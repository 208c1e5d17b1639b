import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { AuditActor, AuditLog } from '../audit';
import { findSubjectSalt } from '../storage';
import { subjectRef } from '../tokens';
import { insertConsentRecordKnex, latestPerPurpose, lockSubjectPurpose, type ConsentRecord } from './records';

export type WithdrawalResult =
  | { readonly withdrawn: true; readonly record: ConsentRecord }
  | { readonly withdrawn: false; readonly status: 'never_granted' | 'declined' | 'withdrawn' };

export interface WithdrawalInput {
  readonly subjectId: string;
  readonly purpose: string;
  readonly source: 'cli' | 'api' | 'console';
  /** Who asked and through what, for the audit event; never personal data. */
  readonly actor: AuditActor;
}

/**
 * Withdraws a person's consent to a purpose: when their latest record for it is a grant, a
 * `withdrawn` record (same flow, policy URL and version as that grant) and a compliance audit
 * event are written in one transaction. Nothing to withdraw (never granted, declined, already
 * withdrawn) writes nothing and says so. Concurrent withdrawals of the same consent record one.
 */
export async function withdrawConsent(
  deps: { readonly knex: Knex; readonly audit: AuditLog },
  input: WithdrawalInput,
): Promise<WithdrawalResult> {
  return deps.knex.transaction(async (trx) => {
    await lockSubjectPurpose(trx, input.subjectId, input.purpose);
    const latest = (await latestPerPurpose(trx, input.subjectId)).find((r) => r.purpose === input.purpose);
    if (!latest) return { withdrawn: false, status: 'never_granted' };
    if (latest.decision !== 'granted') return { withdrawn: false, status: latest.decision };
    const record = await insertConsentRecordKnex(trx, {
      id: randomUUID(),
      subjectId: input.subjectId,
      flowId: latest.flowId,
      purpose: latest.purpose,
      policyUrl: latest.policyUrl,
      policyVersion: latest.policyVersion,
      decision: 'withdrawn',
      source: input.source,
      submissionId: null,
    });
    const salt = await findSubjectSalt(trx, input.subjectId);
    await deps.audit.appendInTransaction(trx, {
      occurredAt: new Date(),
      kind: 'compliance',
      flowId: latest.flowId,
      outcome: 'consent_withdrawn',
      subjectRef: salt ? subjectRef(input.subjectId, salt) : undefined,
      actor: input.actor,
      detail: {
        purpose: latest.purpose,
        policy_version: latest.policyVersion,
        consent_id: record.id,
        withdraws: latest.id,
      },
    });
    return { withdrawn: true, record };
  });
}

/**
 * What erasure does to consent records (run inside the erasure's transaction): every consent
 * still granted is withdrawn (source `erasure`: processing on that basis ends with the erasure),
 * and every record's link to a submission is dropped (those submissions are deleted). The records
 * themselves stay — subject pseudonym, flow, purpose, policy version, decision, time — as the
 * proof of past consent that GDPR Art. 7(1) requires and Art. 17(3)(b)/(e) allow to be kept.
 */
export async function consentsOnErasure(
  trx: Knex.Transaction,
  subjectId: string,
): Promise<{ readonly withdrawn: number; readonly kept: number }> {
  let withdrawn = 0;
  for (const latest of await latestPerPurpose(trx, subjectId)) {
    if (latest.decision !== 'granted') continue;
    await insertConsentRecordKnex(trx, {
      id: randomUUID(),
      subjectId,
      flowId: latest.flowId,
      purpose: latest.purpose,
      policyUrl: latest.policyUrl,
      policyVersion: latest.policyVersion,
      decision: 'withdrawn',
      source: 'erasure',
      submissionId: null,
    });
    withdrawn += 1;
  }
  await trx('consent_records')
    .where({ subject_id: subjectId })
    .whereNotNull('submission_id')
    .update({ submission_id: null });
  const counted = (await trx('consent_records').where({ subject_id: subjectId }).count({ n: '*' })) as { n: unknown }[];
  return { withdrawn, kept: Number(counted[0]?.n ?? 0) };
}
