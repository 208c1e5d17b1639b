import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { FlowTokenNoLongerValidError } from '../protocol';

export interface IssuedToken {
  readonly token: string;
  readonly id: string;
  readonly flowId: string;
  readonly subject: string;
  readonly expiresAt: Date;
}

export interface VerifiedToken {
  readonly id: string;
  readonly flowId: string;
  readonly subject: string;
  readonly expiresAt: Date;
}

const ALGORITHM = 'HS256';
/** Tolerated clock difference between issuing and verifying hosts. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** Verified tokens remembered per process (see FlowTokenCodec.verify); the oldest go first past it. */
const VERIFIED_CACHE_MAX = 4096;

/**
 * Flow tokens are compact HS256 JWTs: `flw` (flow id), `sub` (pseudonymous subject), `jti`
 * (random id, the key of the token's row and session), `exp`. No `iat` or `typ`: Meta does not
 * document a length limit and one third party states 200 characters (src/protocol/NOTES.md, "Flow token"), so every
 * byte is kept out that the database already knows. A token is ~190 characters.
 */
export class FlowTokenCodec {
  readonly #signingKey: KeyObject;
  readonly #verifyKeys: readonly KeyObject[];
  /** Token text → what verifying it gave, until its expiry (the token's own `exp`, with the tolerance). */
  readonly #verified = new Map<string, { readonly token: VerifiedToken; readonly validUntil: number }>();

  /** `secrets[0]` signs; all verify (rotation). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('at least one flow token secret is required');
    // KeyObjects made once: given bytes, jose makes a new KeyObject on every verify.
    const keys = secrets.map((s) => createSecretKey(Buffer.from(s, 'utf8')));
    this.#signingKey = keys[0];
    this.#verifyKeys = keys;
  }

  async issue(flowId: string, subject: string, ttlSeconds: number, now = Date.now()): Promise<IssuedToken> {
    // 96 random bits in hex: ids are typed on command lines (`npm run token -- revoke --id …`), and
    // a base64url id starting with '-' (1 in 64) reads as an option there.
    const id = randomBytes(12).toString('hex');
    const exp = Math.floor(now / 1000) + ttlSeconds;
    const token = await new SignJWT({ flw: flowId })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(subject)
      .setJti(id)
      .setExpirationTime(exp)
      .sign(this.#signingKey);
    return { token, id, flowId, subject, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Checks signature, expiry and flow; throws FlowTokenNoLongerValidError (427) with the reason.
   * A token that verified is remembered until it expires: its text cannot change what it says,
   * and each of a user's requests carries the same one (verifying costs ~0.1 ms, a tenth of a
   * request's CPU). Revocation and completion are not the signature's business: the session
   * statement checks the token's row on every request (src/storage/token-repository.ts).
   */
  async verify(token: string | undefined, flowId: string): Promise<VerifiedToken> {
    const known = typeof token === 'string' ? this.#verified.get(token) : undefined;
    if (known) {
      if (Date.now() < known.validUntil) {
        if (known.token.flowId !== flowId) throw new FlowTokenNoLongerValidError('wrong_flow');
        return known.token;
      }
      this.#verified.delete(token as string);
    }
    const verified = await this.#verify(token, flowId);
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(token as string, {
      token: verified,
      validUntil: verified.expiresAt.getTime() + CLOCK_TOLERANCE_SECONDS * 1000,
    });
    return verified;
  }

  async #verify(token: string | undefined, flowId: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token === '') throw new FlowTokenNoLongerValidError('missing');
    if (token.length > 2048 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
      throw new FlowTokenNoLongerValidError('malformed');
    }
    let lastError: unknown;
    for (const key of this.#verifyKeys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'sub', 'jti'],
        });
        if (payload.flw !== flowId) throw new FlowTokenNoLongerValidError('wrong_flow');
        return {
          id: String(payload.jti),
          flowId,
          subject: String(payload.sub),
          expiresAt: new Date((payload.exp as number) * 1000),
        };
      } catch (err) {
        if (err instanceof FlowTokenNoLongerValidError) throw err;
        // An expired token with a valid signature is "expired", whichever key signed it.
        if (err instanceof joseErrors.JWTExpired) throw new FlowTokenNoLongerValidError('expired');
        lastError = err;
      }
    }
    if (lastError instanceof joseErrors.JWSSignatureVerificationFailed)
      throw new FlowTokenNoLongerValidError('bad_signature');
    throw new FlowTokenNoLongerValidError('malformed');
  }
}
