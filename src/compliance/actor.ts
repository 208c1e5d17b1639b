import { userInfo } from 'node:os';
import { FlowgateError } from '../errors';

/** Who says they run a compliance action, and why, as typed. */
export interface ClaimedActor {
  readonly operator: string;
  readonly reason: string;
}

/**
 * Who runs a compliance action and why: recorded in the action's audit event, with the
 * operating-system account as this process sees it (`osAccount`). The database login is added by
 * the audit log itself, which the database checks (src/audit/audit-log.ts, #stamped).
 */
export interface Actor extends ClaimedActor {
  readonly osUser: string;
}

export class InvalidActorError extends FlowgateError {
  constructor(message: string) {
    super('invalid_actor', message);
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

/**
 * The operating-system account running this process, as the audit log may keep it: only reported
 * by this process, not verified; "(withheld)" when it fails the operator's checks.
 */
export function osAccount(): string {
  try {
    return recordableAccount(userInfo().username || 'unknown');
  } catch {
    return 'unknown'; // no passwd entry for this uid (containers)
  }
}

/** The account name as the audit log may keep it forever, else "(withheld)". */
export function recordableAccount(account: string): string {
  try {
    return assertValidActor({ operator: account, reason: 'account' }).operator;
  } catch {
    return WITHHELD;
  }
}
