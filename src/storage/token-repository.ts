import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { statement, type BoundStatement, type SqlQueryable, type SqlTransaction } from './direct-sql';
import { toBuffer, toDate } from './rows';

export type TokenStatus = 'active' | 'completed' | 'revoked';

export interface TokenRow {
  readonly id: string;
  readonly flowId: string;
  readonly subjectId: string;
  readonly status: TokenStatus;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface SessionRead {
  readonly token: TokenRow;
  /** The subject's salt; undefined after erasure. */
  readonly subjectSalt: Buffer | undefined;
  readonly session:
    | {
        readonly currentScreen: string | null;
        readonly stateKeyId: string;
        readonly state: Buffer;
        readonly requestCount: number;
        /** Minute (epoch ms / 60000) of `rateCount`: requests of this token counted in that minute. */
        readonly rateWindow: number;
        readonly rateCount: number;
      }
    | undefined;
}

function toTokenRow(row: Record<string, unknown>): TokenRow {
  return {
    id: String(row.id),
    flowId: String(row.flow_id),
    subjectId: String(row.subject_id),
    status: row.status as TokenStatus,
    issuedAt: toDate(row.issued_at),
    expiresAt: toDate(row.expires_at),
  };
}

/** Creates the subject's salt on first sight; later calls keep the existing one. */
export async function ensureSubject(db: Knex, subjectId: string): Promise<Buffer> {
  await db('subjects')
    .insert({ subject_id: subjectId, salt: randomBytes(32) })
    .onConflict('subject_id')
    .ignore();
  const row = (await db('subjects').where({ subject_id: subjectId }).first('salt')) as { salt: unknown } | undefined;
  if (!row) throw new Error('subject vanished while being created');
  return toBuffer(row.salt);
}

export async function findSubjectSalt(db: Knex, subjectId: string): Promise<Buffer | undefined> {
  const row = (await db('subjects').where({ subject_id: subjectId }).first('salt')) as { salt: unknown } | undefined;
  return row ? toBuffer(row.salt) : undefined;
}

export async function insertToken(
  db: Knex,
  token: { id: string; flowId: string; subjectId: string; expiresAt: Date },
): Promise<void> {
  await db.transaction(async (trx) => {
    await ensureSubject(trx, token.subjectId);
    await trx('flow_tokens').insert({
      id: token.id,
      flow_id: token.flowId,
      subject_id: token.subjectId,
      expires_at: token.expiresAt,
    });
  });
}

export async function findToken(db: Knex, id: string): Promise<TokenRow | undefined> {
  const row = (await db('flow_tokens').where({ id }).first()) as Record<string, unknown> | undefined;
  return row ? toTokenRow(row) : undefined;
}

/** The columns of a token with its subject's salt and its session (sessionReadOf reads them). */
const SESSION_COLUMNS = `t.id, t.flow_id, t.subject_id, t.status, t.issued_at, t.expires_at, s.salt,
          fs.token_id AS session_token_id, fs.current_screen, fs.state_key_id, fs.state, fs.request_count,
          fs.rate_window, fs.rate_count`;

const SESSION_FROM = `FROM flow_tokens t
     LEFT JOIN subjects s ON s.subject_id = t.subject_id
     LEFT JOIN flow_sessions fs ON fs.token_id = t.id
    WHERE t.id = $1`;

const READ_SESSION = statement('flowgate_read_session', `SELECT ${SESSION_COLUMNS} ${SESSION_FROM}`);

/**
 * Reads a token with its session and the subject's salt, in one round trip and without a lock:
 * the session's `requestCount` is its version, which the write checks (UPSERT_SESSION).
 */
export async function readSession(db: SqlQueryable, tokenId: string): Promise<SessionRead | undefined> {
  return sessionReadOf((await db.query(READ_SESSION, [tokenId]))[0]);
}

/** A row of SESSION_COLUMNS as a SessionRead; undefined when there is none or its token is null. */
export function sessionReadOf(row: Record<string, unknown> | undefined): SessionRead | undefined {
  if (!row || row.id === null || row.id === undefined) return undefined;
  return {
    token: toTokenRow(row),
    subjectSalt: row.salt === null || row.salt === undefined ? undefined : toBuffer(row.salt),
    session:
      row.session_token_id === null || row.session_token_id === undefined
        ? undefined
        : {
            currentScreen: (row.current_screen as string | null) ?? null,
            stateKeyId: String(row.state_key_id),
            state: toBuffer(row.state),
            requestCount: Number(row.request_count),
            rateWindow: Number(row.rate_window),
            rateCount: Number(row.rate_count),
          },
  };
}

export interface SessionWrite {
  readonly tokenId: string;
  readonly flowId: string;
  readonly currentScreen: string | null;
  readonly stateKeyId: string;
  readonly state: Buffer;
  /** The per-token rate limit's minute and its count so far, this request included. */
  readonly rateWindow: number;
  readonly rateCount: number;
  /** The session's request count when it was read; 0 when there was no session yet. */
  readonly readAtCount: number;
}

/**
 * The session write of a request, guarded (optimistic concurrency): it happens only while the
 * token is still active and the session is still the version the request read — its
 * `request_count` unchanged, or still absent. Otherwise no row is written and none returned: another
 * request of the same token (or a completion, a revocation, an erasure) committed in between.
 * Under READ COMMITTED a concurrent upsert of the same row waits for the other to commit and then
 * re-checks the WHERE on the new version, so two requests that read the same version cannot both
 * write. The token row is share-locked, not just read: an erasure or revocation that holds it
 * (FOR UPDATE, src/compliance/data-subject.ts) is waited for and its new status re-checked — read
 * as of the statement's start, an erasure committing meanwhile would let the write recreate the
 * session it deleted. Locks are taken token first, then session, as erasure takes them.
 * Its text is also used inside a data-modifying WITH (AuditLog.appendInRequest): one row out.
 */
const upsertSessionText = (tokenGuard: string): string =>
  `INSERT INTO flow_sessions
          (token_id, flow_id, current_screen, state_key_id, state, request_count, rate_window, rate_count)
   SELECT $1::text, $2::text, $3::text, $4::text, $5::bytea, 1, $6::bigint, $7::integer
    ${tokenGuard}
      -- Read with a session (a version above 0), the row must still be there: a session deleted
      -- since (retention purge) is not recreated from what the writer remembered of it.
      AND ($8::integer = 0 OR EXISTS (SELECT 1 FROM flow_sessions WHERE token_id = $1::text))
   ON CONFLICT (token_id) DO UPDATE
      SET current_screen = excluded.current_screen,
          state_key_id = excluded.state_key_id,
          state = excluded.state,
          request_count = flow_sessions.request_count + 1,
          rate_window = excluded.rate_window,
          rate_count = excluded.rate_count,
          updated_at = now()
    WHERE flow_sessions.request_count = $8::integer
   RETURNING token_id`;

export const UPSERT_SESSION = statement(
  'flowgate_upsert_session_v4',
  upsertSessionText(`WHERE EXISTS (SELECT 1 FROM flow_tokens WHERE id = $1::text AND status = 'active' FOR SHARE)`),
);

/**
 * When the guarded write did not happen, the same statement reads what is there now (SESSION_COLUMNS;
 * $1 is the token id): the request runs again on it without another round trip (AuditLog.appendInRequest
 * sends it as `otherwise`). Read in the statement's snapshot, it can be older than the version that
 * refused the write, in which case the next write is refused too and the caller reads on its own.
 */
export const SESSION_NOW = `SELECT ${SESSION_COLUMNS} ${SESSION_FROM}`;

/** The same write after the caller locked and completed the token itself (markTokenCompleted). */
const UPSERT_SESSION_OF_COMPLETED = statement(
  'flowgate_upsert_session_of_completed_v2',
  upsertSessionText('WHERE true'),
);

/**
 * The guarded session upsert, not yet sent, so a caller may send it in one statement with another
 * write. `tokenCompletedHere`: the transaction already locked and completed the token
 * (markTokenCompleted), so only the session's version is checked.
 */
export function sessionUpsert(session: SessionWrite, tokenCompletedHere = false): BoundStatement {
  return {
    statement: tokenCompletedHere ? UPSERT_SESSION_OF_COMPLETED : UPSERT_SESSION,
    values: [
      session.tokenId,
      session.flowId,
      session.currentScreen,
      session.stateKeyId,
      session.state,
      session.rateWindow,
      session.rateCount,
      session.readAtCount,
    ],
  };
}

const MARK_COMPLETED = statement(
  'flowgate_mark_token_completed_v2',
  `UPDATE flow_tokens SET status = 'completed', completed_at = now()
    WHERE id = $1 AND status = 'active'
   RETURNING subject_id`,
);

/**
 * Completes an active token and returns its subject id as of now (an erasure may have unlinked it
 * since the request read it); undefined when the token is no longer active. Locks the token row
 * for the rest of the transaction: send it first, so locks are taken token first, then session.
 */
export async function markTokenCompleted(tx: SqlTransaction, tokenId: string): Promise<string | undefined> {
  const row = (await tx.query(MARK_COMPLETED, [tokenId]))[0];
  return row ? String(row.subject_id) : undefined;
}

/** Revokes active tokens; returns how many changed. */
export async function revokeTokens(db: Knex, where: { id: string } | { subjectId: string }): Promise<number> {
  const query = db('flow_tokens').where({ status: 'active' });
  if ('id' in where) query.andWhere({ id: where.id });
  else query.andWhere({ subject_id: where.subjectId });
  return query.update({ status: 'revoked', revoked_at: db.fn.now() });
}
