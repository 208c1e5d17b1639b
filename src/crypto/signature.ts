import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * src/protocol/NOTES.md, "Request signature": `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`, over
 * the exact bytes received — re-serialised JSON loses `\/` and `\uXXXX` escapes (§A.4). The
 * header's shape is checked first so `timingSafeEqual` always compares 32 bytes with 32 bytes.
 * Every configured secret is tried (app-secret rotation).
 */
export function isValidHubSignature(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  if (header === undefined) return false;
  const match = HEADER.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1].toLowerCase(), 'hex');
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    // No early exit: the time taken does not reveal which secret matched.
    valid = timingSafeEqual(expected, given) || valid;
  }
  return valid;
}

export function hubSignature(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
