import type { Knex } from 'knex';
import type { AuditActor, AuditLog } from '../audit';
import { insertToken, revokeTokens } from '../storage';
import type { FlowTokenCodec } from './flow-token';
import { type IssuedToken } from './flow-token';
import { normalizePhoneNumber } from './phone';
import { subjectOf } from './subject';
import { FlowgateError } from '../errors';

export interface TokenServiceOptions {
  readonly knex: Knex;
  readonly codec: FlowTokenCodec;
  /** Where each issue and revocation is recorded, in the transaction that makes it. */
  readonly audit: AuditLog;
  readonly subjectHashKey: string;
  readonly defaultTtlSeconds: number;
  /** Flow ids that may receive tokens (the registered flows). */
  readonly flowIds: ReadonlySet<string>;
}

export class UnknownFlowIdError extends FlowgateError {
  constructor(flowId: string) {
    super('unknown_flow_id', `no flow "${flowId.slice(0, 60)}" is registered`);
  }
}

export class InvalidTtlError extends FlowgateError {
  constructor() {
    super('invalid_ttl', 'ttl must be a whole number of seconds between 60 and 7776000 (90 days)');
  }
}

/** Which tokens a revocation ends: one (the token itself or its id), or every active token of a phone number. */
export type RevokeTarget = { readonly tokenOrId: string } | { readonly phone: string };

/**
 * Issuing and revoking flow tokens with their audit events: the one place the token API
 * (src/http/token-api.ts), the CLI (src/cli/token.ts) and the tests go through. The change and its
 * compliance event commit together; the event names who acted (`actor`), the flow and what
 * changed, never the phone number or the token.
 */
export class TokenService {
  constructor(private readonly options: TokenServiceOptions) {}

  async issue(input: { flowId: string; phone: string; ttlSeconds?: number }, actor: AuditActor): Promise<IssuedToken> {
    if (!this.options.flowIds.has(input.flowId)) throw new UnknownFlowIdError(input.flowId);
    const ttl = input.ttlSeconds ?? this.options.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 90 * 86400) throw new InvalidTtlError();
    const phone = normalizePhoneNumber(input.phone);
    const subject = subjectOf(phone, this.options.subjectHashKey);
    const issued = await this.options.codec.issue(input.flowId, subject, ttl);
    await this.options.knex.transaction(async (trx) => {
      await insertToken(trx, { id: issued.id, flowId: issued.flowId, subjectId: subject, expiresAt: issued.expiresAt });
      await this.options.audit.appendInTransaction(trx, {
        occurredAt: new Date(),
        kind: 'compliance',
        flowId: issued.flowId,
        outcome: 'token_issued',
        actor,
        detail: { expires_at: issued.expiresAt.toISOString() },
      });
    });
    return issued;
  }

  /** Revokes what `target` names; returns how many active tokens it ended (0 is recorded too). */
  async revoke(target: RevokeTarget, actor: AuditActor): Promise<number> {
    const where =
      'phone' in target
        ? { subjectId: subjectOf(normalizePhoneNumber(target.phone), this.options.subjectHashKey) }
        : { id: tokenIdOf(target.tokenOrId) };
    return this.options.knex.transaction(async (trx) => {
      const revoked = await revokeTokens(trx, where);
      await this.options.audit.appendInTransaction(trx, {
        occurredAt: new Date(),
        kind: 'compliance',
        outcome: 'token_revoked',
        actor,
        detail: { revoked },
      });
      return revoked;
    });
  }
}

/** A JWT's `jti` without verifying it (revocation needs only the id); an id passes through. */
export function tokenIdOf(tokenOrId: string): string {
  const parts = tokenOrId.split('.');
  if (parts.length !== 3) return tokenOrId;
  try {
    const payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as { jti?: unknown };
    return typeof payload.jti === 'string' ? payload.jti : tokenOrId;
  } catch {
    return tokenOrId;
  }
}
