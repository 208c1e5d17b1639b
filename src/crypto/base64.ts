/**
 * Standard-alphabet base64 with optional padding (src/protocol/NOTES.md, "Transport"). `Buffer.from(s, 'base64')`
 * silently skips characters outside the alphabet, so a hostile value could decode to something
 * unexpected; this rejects it instead.
 */
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export function decodeStrictBase64(value: string): Buffer | undefined {
  if (!STANDARD_BASE64.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}
