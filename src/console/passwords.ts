import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { FlowgateError } from '../errors';

/**
 * Console passwords, stored as `scrypt$N$r$p$salt$hash` (base64url). scrypt is memory-hard and in
 * node:crypto, so no native addon. N = 2^15, r = 8, p = 1 costs 32 MiB and about 100 ms per
 * check here: OWASP's password storage cheat sheet lists N = 2^17 as its first choice and
 * accepts lower N with more memory or parallelism; sign-ins are also rate limited.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEM = 128 * N * R * 2;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: Math.max(MAX_MEM, 128 * n * r * 2) };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export class WeakPasswordError extends FlowgateError {
  constructor(message: string) {
    super('weak_password', message);
  }
}

export function assertAcceptablePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new WeakPasswordError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new WeakPasswordError(`the password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
}

export async function hashPassword(password: string): Promise<string> {
  assertAcceptablePassword(password);
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A hash of nothing anyone knows: checked against when the user does not exist, so timing tells nothing. */
let decoy: Promise<string> | undefined;

/** True when `password` matches `stored`; `stored` undefined (no such user) takes as long and is false. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  const parts = (stored ?? (await decoy)).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((v) => Number.isInteger(v) && v > 0) || n > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  const key = await derive(password, Buffer.from(parts[4] ?? '', 'base64url'), n, r, p);
  return stored !== undefined && key.length === expected.length && timingSafeEqual(key, expected);
}
