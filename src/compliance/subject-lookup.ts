import type { Knex } from 'knex';
import { findSubjectSalt } from '../storage';
import { normalizePhoneNumber, subjectOf, subjectRef } from '../tokens';

/** The pseudonymous subject of a phone number, exactly as the service derives it when issuing tokens. */
export function subjectOfPhone(phone: string, subjectHashKey: string): string {
  return subjectOf(normalizePhoneNumber(phone), subjectHashKey);
}

/**
 * The `subject_ref` values audit rows carry for a phone number: none when the subject was never
 * seen or was erased (its salt is gone, so its old audit rows can no longer be found).
 */
export async function subjectRefsOfPhone(knex: Knex, phone: string, subjectHashKey: string): Promise<string[]> {
  const subject = subjectOfPhone(phone, subjectHashKey);
  const salt = await findSubjectSalt(knex, subject);
  return salt ? [subjectRef(subject, salt)] : [];
}
