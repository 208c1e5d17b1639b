import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConsoleSession {
  readonly id: string;
  readonly user: string;
  /** The synchronizer token every form of this session carries (OWASP CSRF cheat sheet). */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
}

export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 8 * 3600_000;
const MAX_SESSIONS = 1000;

/**
 * Signed-in sessions, in this process's memory: the console runs in one process (the single
 * process, or the cluster primary), and a restart signing everyone out is acceptable for a staff
 * tool. Ids are 256 random bits; a session ends after 30 idle minutes, 8 hours in all, or sign-out.
 */
export class SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  /** Keys the sign-in form's CSRF token (bound to a pre-session cookie); new at every start. */
  readonly #signInKey = randomBytes(32);
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  create(user: string): ConsoleSession {
    this.#sweep();
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const now = this.#now();
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      user,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeen: now,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id (and marks it used), else undefined. */
  touch(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastSeen > IDLE_MS || now - session.createdAt > ABSOLUTE_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  /** The sign-in form's token for a pre-session cookie value. */
  signInToken(preSession: string): string {
    return createHmac('sha256', this.#signInKey).update(`sign-in|${preSession}`).digest('base64url');
  }

  checkSignInToken(preSession: string | undefined, token: unknown): boolean {
    return !!preSession && sameText(this.signInToken(preSession), token);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) {
      if (now - s.lastSeen > IDLE_MS || now - s.createdAt > ABSOLUTE_MS) this.#sessions.delete(id);
    }
  }
}

/** Constant-time comparison of a form value with the expected token. */
export function sameText(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header (names here are fixed ASCII; values base64url). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
