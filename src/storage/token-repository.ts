import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { statement, type BoundStatement, type SqlTransaction } from './direct-sql';
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

export interface LockedSession {
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

const LOCK_SESSION = statement(
  'flowgate_lock_session',
  `SELECT t.id, t.flow_id, t.subject_id, t.status, t.issued_at, t.expires_at, s.salt,
          fs.token_id AS session_token_id, fs.current_screen, fs.state_key_id, fs.state, fs.request_count,
          fs.rate_window, fs.rate_count
     FROM flow_tokens t
     LEFT JOIN subjects s ON s.subject_id = t.subject_id
     LEFT JOIN flow_sessions fs ON fs.token_id = t.id
    WHERE t.id = $1
      FOR UPDATE OF t`,
);

/**
 * Locks the token row for the rest of the transaction — the per-token serialisation point — and
 * reads its session and the subject's salt with it, in one round trip.
 */
export async function lockSession(tx: SqlTransaction, tokenId: string): Promise<LockedSession | undefined> {
  const row = (await tx.query(LOCK_SESSION, [tokenId]))[0];
  if (!row) return undefined;
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
}

/** Its text is also used inside a data-modifying WITH (AuditLog.appendInTransaction): one row out. */
export const UPSERT_SESSION = statement(
  'flowgate_upsert_session',
  `INSERT INTO flow_sessions
          (token_id, flow_id, current_screen, state_key_id, state, request_count, rate_window, rate_count)
   VALUES ($1, $2, $3, $4, $5, 1, $6, $7)
   ON CONFLICT (token_id) DO UPDATE
      SET current_screen = excluded.current_screen,
          state_key_id = excluded.state_key_id,
          state = excluded.state,
          request_count = flow_sessions.request_count + 1,
          rate_window = excluded.rate_window,
          rate_count = excluded.rate_count,
          updated_at = now()
   RETURNING token_id`,
);

/** The session upsert, not yet sent, so a caller may send it in one statement with another write. */
export function sessionUpsert(session: SessionWrite): BoundStatement {
  return {
    statement: UPSERT_SESSION,
    values: [
      session.tokenId,
      session.flowId,
      session.currentScreen,
      session.stateKeyId,
      session.state,
      session.rateWindow,
      session.rateCount,
    ],
  };
}

const MARK_COMPLETED = statement(
  'flowgate_mark_token_completed',
  `UPDATE flow_tokens SET status = 'completed', completed_at = now() WHERE id = $1`,
);

export async function markTokenCompleted(tx: SqlTransaction, tokenId: string): Promise<void> {
  await tx.query(MARK_COMPLETED, [tokenId]);
}

/** Revokes active tokens; returns how many changed. */
export async function revokeTokens(db: Knex, where: { id: string } | { subjectId: string }): Promise<number> {
  const query = db('flow_tokens').where({ status: 'active' });
  if ('id' in where) query.andWhere({ id: where.id });
  else query.andWhere({ subject_id: where.subjectId });
  return query.update({ status: 'revoked', revoked_at: db.fn.now() });
}
