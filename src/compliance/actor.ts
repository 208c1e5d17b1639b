/** Who runs a compliance action and why: recorded in the action's audit event. */
export interface Actor {
  readonly operator: string;
  readonly reason: string;
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
export function assertValidActor(actor: Actor): Actor {
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
