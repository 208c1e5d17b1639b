import { userInfo } from 'node:os';
import {
  assertValidActor,
  eraseSubject,
  exportSubjectData,
  purgeOlderThan,
  osAccount,
  readSubmission,
  reencryptAll,
  type Actor,
  type ClaimedActor,
  type ComplianceDeps,
} from '../compliance';
import { actionOf, OutputFile, parseChoiceArg, parseIntegerArg, parsePhoneArg } from './args';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';
import { openCliContext } from './context';

const USAGE = `Usage: npm run submissions -- <action> [options]

  decrypt <id> --operator NAME --reason TEXT [--out FILE]
      print one decrypted submission (its id: submission_inventory, or an export)
  export --phone +E164 --operator NAME --reason TEXT [--out FILE] [--format json]
      everything held about a phone number, decrypted, consent records included (access request)
  erase --phone +E164 --operator NAME --reason TEXT
      right to erasure: deletes the person's submissions, media files and sessions, revokes and unlinks their
      tokens, deletes their salt (their audit rows stay, no longer linkable to them), withdraws
      their remaining consents (consent records stay as proof, unlinked from submissions)
  purge [--older-than-days N] [--operator NAME] [--reason TEXT]
      retention: deletes submissions, media files and sessions older than N days (default SUBMISSION_RETENTION_DAYS)
  reencrypt [--operator NAME] [--reason TEXT]
      moves every row to the first key of SUBMISSION_KEYS (old keys must still be in the ring)

Every action is recorded in the audit log with the operator, the reason and row counts — never
personal data, so keep phone numbers and e-mail addresses out of --reason (use a ticket id).
--out files are created with mode 0600 and never overwritten. Exit codes: 0 done, 1 failed,
2 wrong usage.`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Action = 'decrypt' | 'export' | 'erase' | 'purge' | 'reencrypt';

export async function submissionsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    operator: { type: 'string' },
    reason: { type: 'string' },
    phone: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    'older-than-days': { type: 'string' },
  });
  const action = actionOf<Action>(positionals, ['decrypt', 'export', 'erase', 'purge', 'reencrypt'], 2);
  const allowed: Record<Action, readonly string[]> = {
    decrypt: ['operator', 'reason', 'out'],
    export: ['operator', 'reason', 'phone', 'out', 'format'],
    erase: ['operator', 'reason', 'phone'],
    purge: ['operator', 'reason', 'older-than-days'],
    reencrypt: ['operator', 'reason'],
  };
  for (const flag of Object.keys(values)) {
    if (!allowed[action].includes(flag)) throw new UsageError(`--${flag} does not go with ${action}`);
  }
  if (action !== 'decrypt' && positionals.length > 1) throw new UsageError(`${action} takes no positional argument`);

  const needsActor = action === 'decrypt' || action === 'export' || action === 'erase';
  if (needsActor && (values.operator === undefined || values.reason === undefined))
    throw new UsageError(`${action} needs --operator and --reason (they are recorded in the audit log)`);
  const claimed = actorOf(values.operator, values.reason, action);

  let id: string | undefined;
  if (action === 'decrypt') {
    id = positionals[1];
    if (id === undefined) throw new UsageError('decrypt needs a submission id');
    if (!UUID.test(id)) throw new UsageError('the submission id must be a UUID, e.g. 3f2b…-…');
    id = id.toLowerCase();
  }
  let phone: string | undefined;
  if (action === 'export' || action === 'erase') {
    if (values.phone === undefined) throw new UsageError(`${action} needs --phone`);
    phone = parsePhoneArg(values.phone);
  }
  if (values.format !== undefined) parseChoiceArg(values.format, '--format', ['json'] as const);
  const days =
    values['older-than-days'] === undefined
      ? undefined
      : parseIntegerArg(values['older-than-days'], '--older-than-days', 1, 36500);

  // Opened before any data is read: a wrong path fails first, with nothing computed for nothing.
  const out = values.out === undefined ? undefined : OutputFile.open(values.out);
  try {
    const ctx = await openCliContext();
    try {
      const deps: ComplianceDeps = {
        knex: ctx.database.knex,
        cipher: ctx.cipher,
        audit: ctx.audit,
        subjectHashKey: ctx.config.subjectHashKey.reveal(),
      };
      // The typed --operator is a claim; the OS account (and, added by the audit log, the
      // database login) are recorded beside it.
      const actor: Actor = { ...claimed, osUser: osAccount() };
      const emit = (text: string): void => {
        if (out) out.write(text);
        else io.out(text.replace(/\n$/, ''));
      };
      switch (action) {
        case 'decrypt': {
          const submission = await readSubmission(deps, id as string, actor);
          emit(`${JSON.stringify(submission, null, 2)}\n`);
          break;
        }
        case 'export': {
          const data = await exportSubjectData(deps, phone as string, actor);
          emit(`${JSON.stringify(data, null, 2)}\n`);
          io.err(
            `exported ${data.tokens.length} token(s), ${data.sessions.length} session(s), ` +
              `${data.submissions.length} submission(s), ${data.media_files.length} media file(s), ` +
              `${data.consents.length} consent record(s), ` +
              `${data.audit_events.length} audit event(s)` +
              (out ? ` to ${out.path}` : ''),
          );
          break;
        }
        case 'erase': {
          const r = await eraseSubject(deps, phone as string, actor);
          io.out(
            `erased ${r.submissions} submission(s) and ${r.sessions} session(s); ` +
              `${r.tokensRevoked} token(s) revoked, ${r.tokensUnlinked} unlinked; ` +
              (r.saltDeleted ? 'subject salt deleted (audit rows no longer linkable)' : 'no subject salt was held') +
              `; ${r.mediaFiles} media file(s) deleted` +
              `; ${r.consentsWithdrawn} consent(s) withdrawn, ${r.consentsKept} consent record(s) kept as proof`,
          );
          break;
        }
        case 'purge': {
          const retention = days ?? ctx.config.submissionRetentionDays;
          const r = await purgeOlderThan(deps, retention, actor);
          io.out(
            `purged ${r.submissions} submission(s) and ${r.sessions} session(s) older than ${retention} day(s) ` +
              `(before ${r.cutoff.toISOString()}); ${r.mediaFiles} media file(s)`,
          );
          break;
        }
        case 'reencrypt': {
          const r = await reencryptAll(deps, actor);
          const remaining = Object.entries(r.remainingByKey)
            .map(([k, n]) => `${k}=${n}`)
            .join(', ');
          io.out(
            `re-encrypted ${r.submissions} submission(s) and ${r.sessions} session(s) under key "${r.keyId}"; ` +
              `rows per key now: ${remaining || 'none'}; ${r.mediaFiles} media file(s) re-encrypted`,
          );
          if (r.failed.length > 0) {
            r.failed.slice(0, 20).forEach((f) => io.err(`not re-encrypted: ${f}`));
            throw new CommandError(`${r.failed.length} row(s) could not be decrypted with SUBMISSION_KEYS`);
          }
          break;
        }
      }
      out?.close();
    } finally {
      await ctx.close();
    }
  } catch (err) {
    out?.discard();
    throw err;
  }
  return 0;
}

function actorOf(operator: string | undefined, reason: string | undefined, action: Action): ClaimedActor {
  const defaults: Partial<Record<Action, string>> = { purge: 'retention policy', reencrypt: 'key rotation' };
  return assertValidActor({
    operator: operator ?? currentUser(),
    reason: reason ?? defaults[action] ?? '',
  });
}

function currentUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

if (require.main === module) exitWith(runCommand(USAGE, submissionsCommand));
