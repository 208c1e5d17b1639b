import { createHash, createHmac } from 'node:crypto';

/**
 * The pseudonymous subject of a phone number: HMAC-SHA256 under SUBJECT_HASH_KEY, 128 bits in
 * base64url. Without the key the number cannot be recovered or confirmed by guessing (phone
 * numbers are few enough to enumerate, which is why a plain hash would not do).
 */
export function subjectOf(phoneE164: string, key: string): string {
  return createHmac('sha256', key).update(phoneE164, 'utf8').digest().subarray(0, 16).toString('base64url');
}

/**
 * What the audit log stores for a subject: keyed by the subject's own random salt, so deleting the
 * salt (erasure) leaves old audit rows that no key can tie back to the person.
 */
export function subjectRef(subject: string, salt: Buffer): string {
  return createHmac('sha256', salt).update(subject, 'utf8').digest().subarray(0, 16).toString('hex');
}

/** What the audit log stores for a token id: enough to correlate events, useless as a credential. */
export function tokenHash(tokenId: string): string {
  return createHash('sha256').update(tokenId, 'utf8').digest().subarray(0, 16).toString('hex');
}
