import { createHash, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';

/** Why a `flow_token_signature` was refused; each is the audit reason of its 427. */
export type FlowTokenSignatureRejection =
  'signature_malformed' | 'signature_algorithm' | 'signature_invalid' | 'signature_expired' | 'signature_mismatch';

const ALGORITHM = 'HS256';
const CLOCK_TOLERANCE_SECONDS = 30;
/** A compact JWS: three base64url parts, the signature not empty (so never `alg: none`). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_LENGTH = 8192;

/**
 * Verifies the `flow_token_signature` of Data API 4.0 (src/protocol/NOTES.md, "Data API 4.0"):
 * an HS256 JWT signed with the Meta app secret whose `flow_token` claim is the request's flow
 * token. HS256 only — the header is read first and anything else (`none`, RS256, HS512…) is
 * refused before a key is touched; `crit` headers are refused by jose. The current app secret is
 * tried first, then the previous ones (rotation). jose compares HMACs with timingSafeEqual; the
 * token claim is compared in constant time here.
 */
export class FlowTokenSignatureVerifier {
  readonly #keys: readonly KeyObject[];

  /** `appSecrets[0]` is META_APP_SECRET, the rest META_PREVIOUS_APP_SECRETS. */
  constructor(appSecrets: readonly string[]) {
    this.#keys = appSecrets.map((s) => createSecretKey(Buffer.from(s, 'utf8')));
  }

  /** False when no app secret is configured: nothing can be verified. */
  get configured(): boolean {
    return this.#keys.length > 0;
  }

  /** undefined when the signature is genuine and binds `flowToken`; else why it is refused. */
  async check(signature: string, flowToken: string | undefined): Promise<FlowTokenSignatureRejection | undefined> {
    if (signature.length > MAX_LENGTH || !COMPACT_JWS.test(signature)) return 'signature_malformed';
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(signature).alg;
    } catch {
      return 'signature_malformed';
    }
    if (alg !== ALGORITHM) return 'signature_algorithm';
    let claims: Record<string, unknown> | undefined;
    for (const key of this.#keys) {
      try {
        ({ payload: claims } = await jwtVerify(signature, key, {
          algorithms: [ALGORITHM],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
        break;
      } catch (err) {
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        if (err instanceof joseErrors.JWTExpired) return 'signature_expired';
        if (err instanceof joseErrors.JWTClaimValidationFailed) return 'signature_invalid';
        return 'signature_malformed';
      }
    }
    if (!claims) return 'signature_invalid';
    const bound = claims.flow_token;
    if (typeof bound !== 'string' || typeof flowToken !== 'string' || !sameText(bound, flowToken)) {
      return 'signature_mismatch';
    }
    return undefined;
  }
}

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
function sameText(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
