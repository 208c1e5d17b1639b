import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config';
import type { Secret } from '../config';

export const COMPLIANCE_ROLE = 'flowgate_compliance';

/**
 * The console's database access: every statement runs in a transaction that first takes the
 * read-only `flowgate_compliance` role (`SET LOCAL ROLE`), so a bug or an injection in the console
 * can read what that role may read and nothing else; its only writes go through the SECURITY
 * DEFINER functions of migration 20261202000019 (its own audit events).
 *
 * PostgreSQL: a pool of its own (CONSOLE_DATABASE_URL, else DATABASE_URL), at most 4 connections,
 * so the console never takes the request path's connections. With CONSOLE_DATABASE_URL naming a
 * login that is only a member of the role, not even `RESET ROLE` gives more. PGlite: the service's
 * single connection (one process, one user), each console transaction switching role locally.
 */
export class ConsoleDb {
  readonly #knex: Knex;
  readonly #owned: boolean;

  private constructor(knex: Knex, owned: boolean) {
    this.#knex = knex;
    this.#owned = owned;
  }

  static open(options: {
    database: Config['database'];
    consoleUrl: Secret | undefined;
    /** The service's knex: used as it is with PGlite (a second one cannot open the same folder). */
    shared: Knex;
  }): ConsoleDb {
    const url = options.consoleUrl ?? options.database.url;
    if (!options.database.url || !url) return new ConsoleDb(options.shared, false);
    const knex = knexFactory({
      client: 'pg',
      connection: {
        connectionString: url.reveal(),
        connectionTimeoutMillis: 3000,
        statement_timeout: 30_000,
        application_name: 'flowgate-console',
      } as Knex.PgConnectionConfig,
      searchPath: [options.database.schema],
      pool: { min: 0, max: 4, idleTimeoutMillis: 30_000 },
      acquireConnectionTimeout: 5000,
    });
    return new ConsoleDb(knex, true);
  }

  /** Runs `work` as flowgate_compliance, in one transaction (one consistent snapshot). */
  read<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.#knex.transaction(async (trx) => {
      await trx.raw(`SET LOCAL ROLE ${COMPLIANCE_ROLE}`);
      // Days in charts and filters are UTC days.
      await trx.raw("SET LOCAL TIME ZONE 'UTC'");
      return work(trx);
    });
  }

  #closed = false;

  async close(): Promise<void> {
    if (!this.#owned || this.#closed) return;
    this.#closed = true;
    await this.#knex.destroy();
  }
}
