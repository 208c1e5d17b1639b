import type { Knex } from 'knex';

/**
 * The login PostgreSQL authenticated for the pool's connections (`session_user`: SET ROLE does not
 * change it). Compliance events carry it, and the database refuses one that names another login
 * (migration 20261129000008).
 */
export async function sessionLogin(knex: Knex): Promise<string> {
  const result = (await knex.raw('SELECT session_user AS login')) as { rows: { login: string }[] };
  const login = result.rows[0]?.login;
  if (typeof login !== 'string') throw new Error('the database did not report session_user');
  return login;
}

/**
 * `sessionLogin`, asked on first use and remembered once it succeeded: a service starts without a
 * reachable database (after an outage, workers restart before it returns), so it cannot ask at
 * start, and a failed lookup is tried again next time.
 */
export function lazySessionLogin(knex: Knex): () => Promise<string> {
  let known: string | undefined;
  return async () => (known ??= await sessionLogin(knex));
}
