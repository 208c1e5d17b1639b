import type { SessionRead } from '../storage';

/** What a process knows of a token's session after its last read or write of it. */
export interface KnownSession {
  readonly read: SessionRead;
  /** The subject reference of the token's audit events (computed once from the salt). */
  readonly subjectRef: string | undefined;
  /** The session state's JSON as last opened or sealed (its blob is `read.session.state`). */
  readonly stateJson: string | undefined;
  /** Date.now() when it was stored here. */
  readonly at: number;
}

/** Tokens remembered per process; the least recently used go first past it. */
const MAX_SESSIONS = 10_000;

/**
 * Longest a remembered session is used without reading it again. The guarded write refuses any
 * version other than the one remembered (src/storage/token-repository.ts), so this is not what keeps
 * it correct; it only bounds how long a token that another process now serves keeps memory here.
 */
const MAX_AGE_MS = 10 * 60_000;

/**
 * Sessions this process wrote last, so the next request of the token skips the read: the write
 * of a request is guarded by the session's version (its request count), so a remembered session
 * that another process or an erasure has changed since is refused by that write, and the request
 * runs again on what the same statement read instead (SessionStep). With one process per token's
 * requests the read never happens; with several it happens when the token moved.
 */
export class SessionCache {
  readonly #known = new Map<string, KnownSession>();

  get(tokenId: string, now = Date.now()): KnownSession | undefined {
    const known = this.#known.get(tokenId);
    if (!known) return undefined;
    this.#known.delete(tokenId);
    if (now - known.at > MAX_AGE_MS) return undefined;
    // Re-inserted: the Map's order is then the order of use.
    this.#known.set(tokenId, known);
    return known;
  }

  set(tokenId: string, known: KnownSession): void {
    this.#known.delete(tokenId);
    if (this.#known.size >= MAX_SESSIONS) {
      const oldest = this.#known.keys().next();
      if (!oldest.done) this.#known.delete(oldest.value);
    }
    this.#known.set(tokenId, known);
  }

  forget(tokenId: string): void {
    this.#known.delete(tokenId);
  }

  get size(): number {
    return this.#known.size;
  }
}
