import { userInfo } from 'node:os';
import type { Knex } from 'knex';
import { sessionLogin } from '../storage';

/**
 * The accounts a compliance action ran under, beside `operator` (a name the person typed):
 * `databaseUser` is the PostgreSQL login, which the database checks when the event is written;
 * `osUser` is the operating-system account, as this process sees it.
 */
export interface RanAs {
  readonly osUser: string;
  readonly databaseUser: string;
}

/** Who says they run a compliance action, and why, as typed. */
export interface ClaimedActor {
  readonly operator: string;
  readonly reason: string;
}

/** Who runs a compliance action and why: recorded in the action's audit event. */
export interface Actor extends ClaimedActor {
  readonly ranAs: RanAs;
}

export class InvalidActorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidActorError';
  }
}

const MAX_OPERATOR = 100;
const MAX_REASON = 500;

/**
 * Checks operator and reason before they enter the append-only audit log, where nothing can ever
 * be removed: printable, bounded, and free of what looks like personal data (an e-mail address or
 * a phone-number-like run of digits) — refer to a ticket number instead.
 */
export function assertValidActor(actor: ClaimedActor): ClaimedActor {
  const operator = actor.operator.trim();
  const reason = actor.reason.trim();
  for (const [name, value, max] of [
    ['operator', operator, MAX_OPERATOR],
    ['reason', reason, MAX_REASON],
  ] as const) {
    if (value === '') throw new InvalidActorError(`--${name} must not be empty`);
    if (value.length > max) throw new InvalidActorError(`--${name} is longer than ${max} characters`);
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(value))
      throw new InvalidActorError(`--${name} must not contain control characters`);
    if (/[^\s@]+@[^\s@]+\.[^\s@]+/.test(value))
      throw new InvalidActorError(`--${name} looks like it holds an e-mail address; the audit log keeps it forever`);
    if (/(?:\d[\s().-]?){8,}/.test(value))
      throw new InvalidActorError(
        `--${name} looks like it holds a phone number; the audit log keeps it forever (use a ticket id with fewer than 8 digits)`,
      );
  }
  return { operator, reason };
}

const WITHHELD = '(withheld)';

/** How the accounts appear in an audit event's detail. */
export function ranAsDetail(ranAs: RanAs): { os_user: string; database_user: string } {
  return { os_user: ranAs.osUser, database_user: ranAs.databaseUser };
}

/**
 * The OS account running this process and the login of `knex`'s connections (`session_user`,
 * which SET ROLE does not change). The login is recorded as PostgreSQL reports it: the database
 * refuses a compliance event whose `database_user` is not the login writing it (migration
 * 20261129000008), so it cannot be another officer's. The OS account is only reported by this
 * process; it is recorded when it passes the operator's checks, else as "(withheld)".
 */
export async function ranAsOf(knex: Knex): Promise<RanAs> {
  const databaseUser = await sessionLogin(knex);
  let osUser = 'unknown';
  try {
    osUser = userInfo().username || 'unknown';
  } catch {
    // No passwd entry for this uid (containers): nothing to record.
  }
  return { osUser: recordableAccount(osUser), databaseUser };
}

/** The account name as the audit log may keep it forever, else "(withheld)". */
export function recordableAccount(account: string): string {
  try {
    return assertValidActor({ operator: account, reason: 'account' }).operator;
  } catch {
    return WITHHELD;
  }
}
