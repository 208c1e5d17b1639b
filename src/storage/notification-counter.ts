import { statement, type SqlQueryable } from './direct-sql';
import { toBuffer, toDate } from './rows';
import type { TokenStatus } from './token-repository';

/** A token as an error notification finds it, with that notification counted. */
export interface NoticeCount {
  readonly flowId: string;
  readonly status: TokenStatus;
  readonly expiresAt: Date;
  readonly subjectId: string;
  /** The subject's salt; undefined after erasure. */
  readonly subjectSalt: Buffer | undefined;
  /** Notifications of this token in `window`'s minute, this one included. */
  readonly inMinute: number;
  /** Notifications of this token over its life, this one included. */
  readonly total: number;
}

const COUNT_NOTICE = statement(
  'flowgate_count_error_notification',
  `UPDATE flow_tokens t
      SET notice_count = CASE WHEN t.notice_window = $2::bigint THEN t.notice_count + 1 ELSE 1 END,
          notice_window = $2::bigint,
          notice_total = t.notice_total + 1
    WHERE t.id = $1::text
   RETURNING t.flow_id, t.status, t.expires_at, t.subject_id, t.notice_count, t.notice_total,
             (SELECT s.salt FROM subjects s WHERE s.subject_id = t.subject_id) AS salt`,
);

/**
 * Counts one error notification on its token and reads the token, in one statement (migration
 * 20261202000013); undefined when no such token exists. Works for any status: a completed or
 * revoked token is counted too, so its notifications can be throttled.
 */
export async function countErrorNotification(
  db: SqlQueryable,
  tokenId: string,
  now = Date.now(),
): Promise<NoticeCount | undefined> {
  const row = (await db.query(COUNT_NOTICE, [tokenId, Math.floor(now / 60_000)]))[0];
  if (!row) return undefined;
  return {
    flowId: String(row.flow_id),
    status: row.status as TokenStatus,
    expiresAt: toDate(row.expires_at),
    subjectId: String(row.subject_id),
    subjectSalt: row.salt === null || row.salt === undefined ? undefined : toBuffer(row.salt),
    inMinute: Number(row.notice_count),
    total: Number(row.notice_total),
  };
}
