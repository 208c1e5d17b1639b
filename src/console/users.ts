import type { Knex } from 'knex';
import type { AuditLog } from '../audit';
import { complianceEvent } from '../compliance/deps';
import type { Actor } from '../compliance';
import { hashPassword } from './passwords';
import { FlowgateError } from '../errors';

/** User names: short and plain, since they go into every audit event the user causes. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export class UserError extends FlowgateError {
  constructor(message: string) {
    super('console_user_invalid', message);
  }
}

function checkName(username: string): string {
  if (!USERNAME_PATTERN.test(username))
    throw new UserError('a user name is 1 to 64 letters, digits, dots, dashes or underscores');
  return username;
}

/**
 * Console users are managed with the service's login (the console's role may only read them),
 * each change in one transaction with its compliance event: who changed which console user.
 */
export async function addUser(
  knex: Knex,
  audit: AuditLog,
  actor: Actor,
  username: string,
  password: string,
): Promise<void> {
  const hash = await hashPassword(password);
  await knex.transaction(async (trx) => {
    const inserted = (await trx('console_users')
      .insert({ username: checkName(username), password_hash: hash })
      .onConflict('username')
      .ignore()
      .returning('username')) as unknown[];
    if (inserted.length === 0) throw new UserError(`console user ${username} already exists (use set-password)`);
    await audit.appendInTransaction(trx, complianceEvent('console_user_added', actor, { console_user: username }));
  });
}

export async function setPassword(
  knex: Knex,
  audit: AuditLog,
  actor: Actor,
  username: string,
  password: string,
): Promise<void> {
  const hash = await hashPassword(password);
  await knex.transaction(async (trx) => {
    const changed = await trx('console_users')
      .where({ username: checkName(username) })
      .update({ password_hash: hash, password_changed_at: trx.fn.now() });
    if (changed !== 1) throw new UserError(`no console user ${username}`);
    await audit.appendInTransaction(
      trx,
      complianceEvent('console_user_password_set', actor, { console_user: username }),
    );
  });
}

export async function removeUser(knex: Knex, audit: AuditLog, actor: Actor, username: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const removed = await trx('console_users')
      .where({ username: checkName(username) })
      .delete();
    if (removed !== 1) throw new UserError(`no console user ${username}`);
    await audit.appendInTransaction(trx, complianceEvent('console_user_removed', actor, { console_user: username }));
  });
}

export async function listUsers(knex: Knex): Promise<{ username: string; createdAt: Date; passwordChangedAt: Date }[]> {
  const rows = (await knex('console_users').orderBy('username')) as Record<string, unknown>[];
  return rows.map((r) => ({
    username: String(r.username),
    createdAt: new Date(r.created_at as string),
    passwordChangedAt: new Date(r.password_changed_at as string),
  }));
}
