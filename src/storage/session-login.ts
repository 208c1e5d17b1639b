import type { Knex } from 'knex';

/**
 * The login PostgreSQL authenticated for the pool's connections (`session_user`: SET ROLE does not
 * change it). Compliance events carry it, and the database refuses one that names another login
 * (migration 20261129000008). `knex` may be a transaction (PGlite has a single connection).
 */
export async function sessionLogin(knex: Knex | Knex.Transaction): Promise<string> {
  const result = (await knex.raw('SELECT session_user AS login')) as { rows: { login: string }[] };
  const login = result.rows[0]?.login;
  if (typeof login !== 'string') throw new Error('the database did not report session_user');
  return login;
}
