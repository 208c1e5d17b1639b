import type { Knex } from 'knex';
import { auditArgument, type AuditEvent, type ComplianceOutcome } from '../audit';
import { sessionLogin } from '../storage';

/** What a console audit event says: who (the signed-in user), what, and non-personal facts. */
export interface ConsoleAction {
  readonly user: string;
  readonly outcome: ComplianceOutcome;
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Why the user acted (an export's reason): part of the actor, like the CLI's `--reason`. */
  readonly reason?: string;
  readonly flowId?: string;
  /** The pseudonym of the person the action concerns: it then appears in their own export. */
  readonly subjectRef?: string;
}

/**
 * Writes the console's audit events through `console_audit_append` (migration 20261202000019):
 * compliance events with `via: "console"` and the signed-in user as `operator`, in the caller's
 * transaction (so a page is only shown once its view is recorded). `database_user` is the login
 * of the connection, which the database checks.
 */
export class ConsoleAudit {
  readonly #chains: number;
  #login: string | undefined;

  constructor(chains: number) {
    this.#chains = chains;
  }

  async record(trx: Knex.Transaction, action: ConsoleAction): Promise<void> {
    this.#login ??= await sessionLogin(trx);
    const event: AuditEvent = {
      occurredAt: new Date(),
      kind: 'compliance',
      flowId: action.flowId,
      subjectRef: action.subjectRef,
      outcome: action.outcome,
      actor: {
        via: 'console',
        operator: action.user,
        databaseUser: this.#login,
        ...(action.reason === undefined ? {} : { reason: action.reason }),
      },
      detail: action.detail,
    };
    await trx.raw('select console_audit_append(?, ?::jsonb)', [this.#chains, JSON.stringify([auditArgument(event)])]);
  }
}
