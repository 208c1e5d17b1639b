import type { Knex } from 'knex';
import { AtRestDecryptError } from '../crypto';
import { submissionAad } from '../endpoint';
import {
  deleteSubmissionsOlderThan,
  findSubmission,
  openSessionState,
  replaceSubmissionCiphertext,
  toBuffer,
  toNumber,
  type SubmissionRow,
} from '../storage';
import type { Actor } from './actor';
import { complianceEvent, type ComplianceDeps } from './deps';
import { UndecryptableError } from './undecryptable';
import { mediaFilesByKey, purgeMediaFiles, reencryptMediaFiles } from './media-files';
import { FlowgateError } from '../errors';

export class SubmissionNotFoundError extends FlowgateError {
  constructor(id: string) {
    super('submission_not_found', `no submission with id ${id}`);
  }
}

export { UndecryptableError };

export interface DecryptedSubmission {
  readonly id: string;
  readonly flowId: string;
  readonly createdAt: string;
  readonly keyId: string;
  readonly fieldNames: readonly string[];
  readonly data: unknown;
}

export function openSubmission(deps: Pick<ComplianceDeps, 'cipher'>, row: SubmissionRow): DecryptedSubmission {
  let plaintext: Buffer;
  try {
    plaintext = deps.cipher.open(
      { keyId: row.keyId, blob: row.ciphertext },
      submissionAad(row.flowId, row.tokenId, row.subjectId, row.id),
    );
  } catch (err) {
    if (err instanceof AtRestDecryptError) throw new UndecryptableError(`submission ${row.id}`, row.keyId, err);
    throw err;
  }
  return {
    id: row.id,
    flowId: row.flowId,
    createdAt: row.createdAt.toISOString(),
    keyId: row.keyId,
    fieldNames: row.fieldNames,
    data: JSON.parse(plaintext.toString('utf8')) as unknown,
  };
}

/**
 * Decrypts one submission for an authorised person. The read is recorded (operator, reason,
 * submission id) and committed before the data is returned; a failed attempt is recorded too.
 */
export async function readSubmission(deps: ComplianceDeps, id: string, actor: Actor): Promise<DecryptedSubmission> {
  const row = await findSubmission(deps.knex, id);
  if (!row) {
    await deps.audit.append(
      complianceEvent('submission_read_failed', actor, { submission_id: id, error: 'not_found' }),
    );
    throw new SubmissionNotFoundError(id);
  }
  let submission: DecryptedSubmission;
  try {
    submission = openSubmission(deps, row);
  } catch (err) {
    await deps.audit.append(
      complianceEvent(
        'submission_read_failed',
        actor,
        { submission_id: id, key_id: row.keyId, error: 'undecryptable' },
        row.flowId,
      ),
    );
    throw err;
  }
  await deps.audit.append(
    complianceEvent('submission_read', actor, { submission_id: id, key_id: row.keyId }, row.flowId),
  );
  return submission;
}

export interface PurgeResult {
  readonly cutoff: Date;
  readonly submissions: number;
  readonly sessions: number;
  readonly mediaFiles: number;
}

/**
 * Retention: deletes submissions created, and sessions last touched, before `now - days`, and
 * records how many, in one transaction.
 */
export async function purgeOlderThan(
  deps: ComplianceDeps,
  days: number,
  actor: Actor,
  now = new Date(),
): Promise<PurgeResult> {
  if (!Number.isInteger(days) || days < 1) throw new RangeError('days must be a whole number of at least 1');
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  return deps.knex.transaction(async (trx) => {
    const submissions = await deleteSubmissionsOlderThan(trx, cutoff);
    const sessions = await trx('flow_sessions').where('updated_at', '<', cutoff).delete();
    const mediaFiles = await purgeMediaFiles(trx, cutoff);
    await deps.audit.appendInTransaction(
      trx,
      complianceEvent('submissions_purged', actor, {
        older_than_days: days,
        cutoff: cutoff.toISOString(),
        submissions,
        sessions,
        media_files: mediaFiles,
      }),
    );
    return { cutoff, submissions, sessions, mediaFiles };
  });
}

export interface ReencryptResult {
  readonly keyId: string;
  readonly submissions: number;
  readonly sessions: number;
  readonly mediaFiles: number;
  /** Rows the keyring could not open (their key is missing or wrong): left as they are. */
  readonly failed: readonly string[];
  /** Rows per key id after the run, submissions and sessions together. */
  readonly remainingByKey: Readonly<Record<string, number>>;
}

const BATCH = 200;

/**
 * Moves every submission and session to the keyring's current (first) key, batch by batch. Old
 * rows stay readable throughout (the old keys are still in the ring); each row is swapped only if
 * nobody changed it meanwhile. Roll the new keyring out to the service first, so that new rows are
 * sealed with the new key too; drop an old key only when `remainingByKey` no longer lists it.
 */
export async function reencryptAll(deps: ComplianceDeps, actor: Actor): Promise<ReencryptResult> {
  const keyId = deps.cipher.currentKeyId;
  const failed: string[] = [];
  let submissions = 0;
  let sessions = 0;

  for (let after = ''; ;) {
    const rows = (await deps
      .knex('submissions')
      .whereNot({ key_id: keyId })
      .andWhere('id', '>', after || '00000000-0000-0000-0000-000000000000')
      .orderBy('id')
      .limit(BATCH)) as Record<string, unknown>[];
    for (const raw of rows) {
      const row = await findSubmission(deps.knex, String(raw.id));
      if (!row) continue;
      const aad = submissionAad(row.flowId, row.tokenId, row.subjectId, row.id);
      try {
        const plain = deps.cipher.open({ keyId: row.keyId, blob: row.ciphertext }, aad);
        const sealed = deps.cipher.seal(plain, aad);
        if (await replaceSubmissionCiphertext(deps.knex, row.id, row.keyId, sealed.keyId, sealed.blob)) submissions++;
      } catch (err) {
        if (!(err instanceof AtRestDecryptError)) throw err;
        failed.push(`submission ${row.id} (key ${row.keyId})`);
      }
    }
    if (rows.length < BATCH) break;
    after = String(rows[rows.length - 1]?.id);
  }

  for (let after = ''; ;) {
    const rows = (await deps
      .knex('flow_sessions')
      .whereNot({ state_key_id: keyId })
      .andWhere('token_id', '>', after)
      .orderBy('token_id')
      .limit(BATCH)
      .select('token_id', 'flow_id', 'state_key_id', 'state')) as Record<string, unknown>[];
    for (const raw of rows) {
      const tokenId = String(raw.token_id);
      const flowId = String(raw.flow_id);
      const oldKey = String(raw.state_key_id);
      const blob = toBuffer(raw.state);
      const aad = `session|${flowId}|${tokenId}`;
      try {
        // openSessionState checks the same associated data the service uses.
        openSessionState(deps.cipher, flowId, tokenId, oldKey, blob);
        const sealed = deps.cipher.seal(deps.cipher.open({ keyId: oldKey, blob }, aad), aad);
        const changed = await deps
          .knex('flow_sessions')
          .where({ token_id: tokenId, state_key_id: oldKey, state: blob })
          .update({ state_key_id: sealed.keyId, state: sealed.blob });
        if (changed === 1) sessions++;
      } catch (err) {
        if (!(err instanceof AtRestDecryptError)) throw err;
        failed.push(`session of token ${tokenId} (key ${oldKey})`);
      }
    }
    if (rows.length < BATCH) break;
    after = String(rows[rows.length - 1]?.token_id);
  }

  const media = await reencryptMediaFiles(deps.knex, deps.cipher);
  failed.push(...media.failed);
  const remainingByKey = await countByKey(deps.knex);
  for (const [id, n] of Object.entries(await mediaFilesByKey(deps.knex)))
    remainingByKey[id] = (remainingByKey[id] ?? 0) + n;
  await deps.audit.append(
    complianceEvent('submissions_reencrypted', actor, {
      key_id: keyId,
      submissions,
      sessions,
      media_files: media.files,
      failed: failed.length,
      remaining_by_key: remainingByKey,
    }),
  );
  return { keyId, submissions, sessions, mediaFiles: media.files, failed, remainingByKey };
}

async function countByKey(knex: Knex): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const add = (rows: Record<string, unknown>[]): void =>
    rows.forEach((r) => {
      const id = String(r.key);
      counts[id] = (counts[id] ?? 0) + toNumber(r.n);
    });
  add(
    (await knex('submissions').select('key_id as key').count('* as n').groupBy('key_id')) as Record<string, unknown>[],
  );
  add(
    (await knex('flow_sessions').select('state_key_id as key').count('* as n').groupBy('state_key_id')) as Record<
      string,
      unknown
    >[],
  );
  return counts;
}
