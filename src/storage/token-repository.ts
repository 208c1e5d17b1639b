import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
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

/**
 * Locks the token row for the rest of the transaction — the per-token serialisation point — and
 * reads its session and the subject's salt in the same round trips.
 */
export async function lockSession(trx: Knex.Transaction, tokenId: string): Promise<LockedSession | undefined> {
  const row = (await trx('flow_tokens').where({ id: tokenId }).forUpdate().first()) as
    Record<string, unknown> | undefined;
  if (!row) return undefined;
  const token = toTokenRow(row);
  const [salt, session] = await Promise.all([
    findSubjectSalt(trx, token.subjectId),
    trx('flow_sessions').where({ token_id: tokenId }).first() as Promise<Record<string, unknown> | undefined>,
  ]);
  return {
    token,
    subjectSalt: salt,
    session: session
      ? {
          currentScreen: (session.current_screen as string | null) ?? null,
          stateKeyId: String(session.state_key_id),
          state: toBuffer(session.state),
          requestCount: Number(session.request_count),
        }
      : undefined,
  };
}

export async function saveSession(
  trx: Knex.Transaction,
  session: { tokenId: string; flowId: string; currentScreen: string | null; stateKeyId: string; state: Buffer },
): Promise<void> {
  await trx('flow_sessions')
    .insert({
      token_id: session.tokenId,
      flow_id: session.flowId,
      current_screen: session.currentScreen,
      state_key_id: session.stateKeyId,
      state: session.state,
      request_count: 1,
    })
    .onConflict('token_id')
    .merge({
      current_screen: session.currentScreen,
      state_key_id: session.stateKeyId,
      state: session.state,
      request_count: trx.raw('flow_sessions.request_count + 1'),
      updated_at: trx.fn.now(),
    });
}

export async function markTokenCompleted(trx: Knex.Transaction, tokenId: string): Promise<void> {
  await trx('flow_tokens').where({ id: tokenId }).update({ status: 'completed', completed_at: trx.fn.now() });
}

/** Revokes active tokens; returns how many changed. */
export async function revokeTokens(db: Knex, where: { id: string } | { subjectId: string }): Promise<number> {
  const query = db('flow_tokens').where({ status: 'active' });
  if ('id' in where) query.andWhere({ id: where.id });
  else query.andWhere({ subject_id: where.subjectId });
  return query.update({ status: 'revoked', revoked_at: db.fn.now() });
}
