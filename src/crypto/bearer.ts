import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time check of an `Authorization: Bearer <key>` header. Both sides are hashed first so
 * the comparison is always 32 bytes against 32 bytes, whatever length the caller sent.
 */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(match?.[1] ?? '')
    .digest();
  const want = createHash('sha256').update(expected).digest();
  return timingSafeEqual(given, want) && match !== null;
}
