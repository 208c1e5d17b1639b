import type { AtRestCipher } from '../crypto';

/** What flowgate remembers per token between requests; sealed with the at-rest key as one blob. */
export interface SessionState {
  /** Data last sent for each screen: re-shown with an error message when input is invalid. */
  screens: Record<string, Record<string, unknown>>;
  /** Validated data the user submitted on each screen (latest per screen). */
  answers: Record<string, Record<string, unknown>>;
  /** Handler-owned values (ctx.session). */
  values: Record<string, unknown>;
}

/** A session beyond this size means a handler is storing too much; refused rather than stored. */
export const MAX_SESSION_BYTES = 256 * 1024;

export function emptySessionState(): SessionState {
  return { screens: {}, answers: {}, values: {} };
}

const aad = (flowId: string, tokenId: string): string => `session|${flowId}|${tokenId}`;

export function sealSessionState(
  cipher: AtRestCipher,
  flowId: string,
  tokenId: string,
  state: SessionState,
): { keyId: string; blob: Buffer } {
  const json = JSON.stringify(state);
  if (Buffer.byteLength(json) > MAX_SESSION_BYTES) {
    throw new Error(`session state exceeds ${MAX_SESSION_BYTES} bytes`);
  }
  return cipher.seal(json, aad(flowId, tokenId));
}

export function openSessionState(
  cipher: AtRestCipher,
  flowId: string,
  tokenId: string,
  keyId: string,
  blob: Buffer,
): SessionState {
  const parsed = JSON.parse(
    cipher.open({ keyId, blob }, aad(flowId, tokenId)).toString('utf8'),
  ) as Partial<SessionState>;
  return { screens: parsed.screens ?? {}, answers: parsed.answers ?? {}, values: parsed.values ?? {} };
}
