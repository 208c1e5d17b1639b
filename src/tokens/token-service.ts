import type { Knex } from 'knex';
import { insertToken, revokeTokens } from '../storage';
import type { FlowTokenCodec } from './flow-token';
import { type IssuedToken } from './flow-token';
import { normalizePhoneNumber } from './phone';
import { subjectOf } from './subject';
import { FlowgateError } from '../errors';

export interface TokenServiceOptions {
  readonly knex: Knex;
  readonly codec: FlowTokenCodec;
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

/** Issuing and revoking flow tokens: the one place both the CLI and the HTTP API go through. */
export class TokenService {
  constructor(private readonly options: TokenServiceOptions) {}

  async issue(input: { flowId: string; phone: string; ttlSeconds?: number }): Promise<IssuedToken> {
    if (!this.options.flowIds.has(input.flowId)) throw new UnknownFlowIdError(input.flowId);
    const ttl = input.ttlSeconds ?? this.options.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 90 * 86400) throw new InvalidTtlError();
    const phone = normalizePhoneNumber(input.phone);
    const subject = subjectOf(phone, this.options.subjectHashKey);
    const issued = await this.options.codec.issue(input.flowId, subject, ttl);
    await insertToken(this.options.knex, {
      id: issued.id,
      flowId: issued.flowId,
      subjectId: subject,
      expiresAt: issued.expiresAt,
    });
    return issued;
  }

  /** Revokes one token (given as the token itself or its id). Returns whether an active token changed. */
  async revoke(tokenOrId: string): Promise<boolean> {
    const id = tokenIdOf(tokenOrId);
    return (await revokeTokens(this.options.knex, { id })) > 0;
  }

  /** Revokes every active token of a phone number. */
  async revokeAllFor(phone: string): Promise<number> {
    const subject = subjectOf(normalizePhoneNumber(phone), this.options.subjectHashKey);
    return revokeTokens(this.options.knex, { subjectId: subject });
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
