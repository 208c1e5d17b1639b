import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logging';
import { paths } from '../paths';
import { DirectSql } from './direct-sql';
import { lockDataDir } from './pglite-lock';

export interface Database {
  readonly knex: Knex;
  /** The request path's statements, on connections of the same pool (see direct-sql.ts). */
  readonly sql: DirectSql;
  readonly kind: 'postgres' | 'pglite';
  readonly schema: string;
  close(): Promise<void>;
}

/** How long a request may wait for a connection or a statement before failing fast (< WhatsApp's 10 s). */
const ACQUIRE_TIMEOUT_MS = 3000;
const STATEMENT_TIMEOUT_MS = 5000;

// int8 columns (audit sequence numbers, counts) arrive as strings from pg; they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/**
 * One knex per process (src/ARCHITECTURE.md, rule 9). With DATABASE_URL: PostgreSQL through `pg`, pool
 * sized by DATABASE_POOL_MAX, connections and statements bounded so an outage fails requests fast
 * instead of hanging them. Without: embedded PGlite in a local folder — one connection, one
 * process; fine for development and tests, not for production load.
 */
export async function openDatabase(
  config: Config['database'],
  options: { migrate?: boolean; logger?: Logger } = {},
): Promise<Database> {
  const fileBacked = !config.url && config.pgliteDataDir !== 'memory://';
  const unlock = fileBacked ? lockDataDir(config.pgliteDataDir) : () => undefined;
  const knex = config.url ? postgres(config, knexLog(options.logger)) : pglite(config, knexLog(options.logger));
  const kind = config.url ? 'postgres' : 'pglite';
  const database: Database = {
    knex,
    sql: new DirectSql(knex, kind),
    kind,
    schema: config.schema,
    close: async () => {
      await knex.destroy();
      unlock();
    },
  };
  try {
    if (options.migrate) await migrateLatest(database);
  } catch (err) {
    await database.close().catch(() => undefined);
    throw err;
  }
  return database;
}

/**
 * knex's own warnings (e.g. "Acquire connection error" during an outage, once per attempt) go to
 * console.log with a stack; they go through the service's logger instead, one line, no stack.
 */
function knexLog(logger: Logger | undefined): Knex.Config['log'] {
  const emit =
    (level: 'warn' | 'error' | 'debug') =>
    (message: unknown): void => {
      const text = message instanceof Error ? message.message : (String(message).split('\n')[0] ?? '');
      if (logger) logger[level](`database: ${text.slice(0, 500)}`);
      else if (level !== 'debug') process.stderr.write(`database: ${text.slice(0, 500)}\n`);
    };
  return { warn: emit('warn'), error: emit('error'), deprecate: emit('debug'), debug: emit('debug') };
}

function postgres(config: Config['database'], log: Knex.Config['log']): Knex {
  return knexFactory({
    log,
    client: 'pg',
    connection: {
      connectionString: config.url?.reveal(),
      connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      application_name: 'flowgate',
    } as Knex.PgConnectionConfig,
    searchPath: [config.schema],
    pool: { min: 0, max: config.poolMax, idleTimeoutMillis: 30000 },
    acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
  });
}

/**
 * knex-pglite derives the result's command from knex's method name, so a DELETE (method `del`) or
 * an increment (`counter`) is not recognised by the postgres dialect, which then returns the raw
 * result object instead of the affected-row count that `pg` gives. Renaming the method restores
 * the count, so repositories behave the same on both drivers.
 */
interface ResponseProcessor {
  processResponse(obj: { method?: string } | null, runner: unknown): unknown;
}
const PgLiteBase = ClientPgLite as unknown as new (config: Knex.Config) => ResponseProcessor;

class PgLiteClient extends PgLiteBase {
  override processResponse(obj: { method?: string } | null, runner: unknown): unknown {
    const method = obj?.method === 'del' ? 'delete' : obj?.method === 'counter' ? 'update' : undefined;
    return super.processResponse(method && obj ? { ...obj, method } : obj, runner);
  }
}

function pglite(config: Config['database'], log: Knex.Config['log']): Knex {
  const memory = config.pgliteDataDir === 'memory://';
  if (!memory) mkdirSync(config.pgliteDataDir, { recursive: true });
  return knexFactory({
    client: PgLiteClient as unknown as typeof Knex.Client,
    log,
    dialect: 'postgres',
    connection: memory ? {} : { filename: config.pgliteDataDir },
    searchPath: [config.schema],
    // One connection: a long transaction makes others wait, so allow the handler budget and more.
    acquireConnectionTimeout: 15000,
  } as Knex.Config);
}

export function migrationConfig(database: Database): Knex.MigratorConfig {
  return {
    directory: paths.migrations,
    loadExtensions: ['.js'],
    schemaName: database.schema,
    tableName: 'knex_migrations',
  };
}

export async function migrateLatest(database: Database): Promise<string[]> {
  // Only when missing: PostgreSQL checks the CREATE privilege on the database even with IF NOT
  // EXISTS, and a login without it (a compliance officer's own, running a CLI) must still start.
  const found = (await database.knex.raw('SELECT 1 FROM pg_namespace WHERE nspname = ?', [database.schema])) as {
    rows: unknown[];
  };
  if (found.rows.length === 0) await database.knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [database.schema]);
  const [, applied] = (await database.knex.migrate.latest(migrationConfig(database))) as [number, string[]];
  return applied;
}

export async function migrateRollback(database: Database, all = false): Promise<string[]> {
  const [, rolledBack] = (await database.knex.migrate.rollback(migrationConfig(database), all)) as [number, string[]];
  return rolledBack;
}
