import { assertValidActor, osAccount, subjectOfPhone } from '../compliance';
import { consentHoldersAsOf, holdersToCsv, PURPOSE_PATTERN, withdrawConsent } from '../consents';
import { loadDatabaseConfig } from '../config';
import { isPermissionDenied, openDatabase } from '../storage';
import { actionOf, OutputFile, parseDateArg, parsePhoneArg, parseTextArg } from './args';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';
import { openCliContext } from './context';

const USAGE = `Usage: npm run consents -- <action> [options]

  who --purpose P [--policy-version V] [--as-of DATE] [--out FILE]
      CSV of the people (pseudonymous subject ids) whose consent to purpose P was in force at
      DATE (default now), under policy version V when given: their latest record for P at or
      before DATE is a grant. A date without a time means the end of that day (UTC). Columns:
      subject_id, purpose, policy_version, flow_id, granted_at, consent_id, submission_id.
      Cells a spreadsheet would run as formulas are prefixed with '. Reads the consents view
      only: works with the read-only flowgate_compliance role and the database settings alone.
  withdraw --phone +E164 --purpose P --operator NAME --reason TEXT
      records the withdrawal of the person's consent to P (when it is granted) with an audit
      event naming the operator and the reason. Needs the service's configuration.

--out files are created with mode 0600 and never overwritten. Exit codes: 0 done, 1 failed,
2 wrong usage.`;

export async function consentsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    purpose: { type: 'string' },
    'policy-version': { type: 'string' },
    'as-of': { type: 'string' },
    out: { type: 'string' },
    phone: { type: 'string' },
    operator: { type: 'string' },
    reason: { type: 'string' },
  });
  const action = actionOf(positionals, ['who', 'withdraw'] as const);
  const allowed = {
    who: ['purpose', 'policy-version', 'as-of', 'out'],
    withdraw: ['purpose', 'phone', 'operator', 'reason'],
  }[action];
  for (const flag of Object.keys(values)) {
    if (!allowed.includes(flag)) throw new UsageError(`--${flag} does not go with ${action}`);
  }
  if (values.purpose === undefined) throw new UsageError(`${action} needs --purpose`);
  const purpose = parseTextArg(values.purpose, '--purpose', 64);
  if (!PURPOSE_PATTERN.test(purpose)) throw new UsageError(`--purpose must match ${PURPOSE_PATTERN}`);
  return action === 'who' ? who(purpose, values, io) : withdraw(purpose, values, io);
}

async function who(
  purpose: string,
  values: { 'policy-version'?: string; 'as-of'?: string; out?: string },
  io: Io,
): Promise<number> {
  const policyVersion =
    values['policy-version'] === undefined
      ? undefined
      : parseTextArg(values['policy-version'], '--policy-version', 128);
  const asOf = values['as-of'] === undefined ? new Date() : endOfDayIfDate(values['as-of']);
  const out = values.out === undefined ? undefined : OutputFile.open(values.out);
  try {
    const db = await openDatabase(loadDatabaseConfig());
    try {
      const rows = await consentHoldersAsOf(db.knex, { purpose, policyVersion, asOf }).catch((err: unknown) => {
        if (isPermissionDenied(err)) throw new CommandError(`this database login may not read the consents view`);
        throw err;
      });
      const csv = holdersToCsv(rows);
      if (out) out.write(csv);
      else io.out(csv.replace(/\r\n$/, ''));
      io.err(
        `${rows.length} subject(s) had consented to "${purpose}"` +
          `${policyVersion === undefined ? '' : ` under policy version "${policyVersion}"`} as of ${asOf.toISOString()}` +
          (out ? `; written to ${out.path}` : ''),
      );
    } finally {
      await db.close();
    }
    out?.close();
  } catch (err) {
    out?.discard();
    throw err;
  }
  return 0;
}

async function withdraw(
  purpose: string,
  values: { phone?: string; operator?: string; reason?: string },
  io: Io,
): Promise<number> {
  if (values.phone === undefined) throw new UsageError('withdraw needs --phone');
  if (values.operator === undefined || values.reason === undefined)
    throw new UsageError('withdraw needs --operator and --reason (they are recorded in the audit log)');
  const phone = parsePhoneArg(values.phone);
  const claimed = assertValidActor({ operator: values.operator, reason: values.reason });
  const ctx = await openCliContext();
  try {
    const declared = new Set([...ctx.registry.values()].flatMap((f) => f.consents.map((c) => c.purpose)));
    if (!declared.has(purpose)) {
      throw new UsageError(
        `no registered flow declares purpose "${purpose}" (declared: ${[...declared].sort().join(', ') || 'none'})`,
      );
    }
    const result = await withdrawConsent(
      { knex: ctx.database.knex, audit: ctx.audit },
      {
        subjectId: subjectOfPhone(phone, ctx.config.subjectHashKey.reveal()),
        purpose,
        source: 'cli',
        actor: { via: 'cli', operator: claimed.operator, reason: claimed.reason, osUser: osAccount() },
      },
    );
    if (result.withdrawn) {
      io.out(
        `withdrawn: consent to "${purpose}" (policy version ${result.record.policyVersion}) at ${result.record.occurredAt.toISOString()}, record ${result.record.id}`,
      );
    } else {
      const why = { never_granted: 'never granted', declined: 'declined', withdrawn: 'already withdrawn' }[
        result.status
      ];
      io.out(`nothing to withdraw: the consent to "${purpose}" is ${why}`);
    }
  } finally {
    await ctx.close();
  }
  return 0;
}

/** `2026-12-01` means "as of the end of that day" (UTC); a date-time is taken as written. */
function endOfDayIfDate(value: string): Date {
  const date = parseDateArg(value, '--as-of');
  return /^\s*\d{4}-\d{2}-\d{2}\s*$/.test(value) ? new Date(date.getTime() + 86_400_000 - 1) : date;
}

if (require.main === module) exitWith(runCommand(USAGE, consentsCommand));
