import type { Knex } from 'knex';

/**
 * A fixed SQL statement with `$1`-style parameters. With PostgreSQL it is prepared once per pooled
 * connection under `name` (parsed and planned once, then only bound and executed).
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** A statement with its values, ready to send. */
export interface BoundStatement {
  readonly statement: Statement;
  readonly values: readonly unknown[];
}

export type Row = Record<string, unknown>;

/** Something that sends a statement: DirectSql (each statement its own transaction) or a transaction. */
export interface SqlQueryable {
  query(statement: Statement, values: readonly unknown[]): Promise<Row[]>;
}

/** The statements of one transaction, on one connection. */
export type SqlTransaction = SqlQueryable;

export function statement(name: string, text: string): Statement {
  return { name, text };
}

/** What this module needs of a pooled connection's driver, pg or PGlite. */
interface DriverConnection {
  query(...args: unknown[]): Promise<{ rows?: Row[]; command?: string }>;
  /** Set when the connection broke; knex's pool then discards it instead of reusing it. */
  __knex__disposed?: unknown;
}

interface PoolClient {
  acquireConnection(): Promise<DriverConnection>;
  releaseConnection(connection: DriverConnection): Promise<unknown>;
}

const BEGIN: Statement = statement('', 'BEGIN');
const COMMIT: Statement = statement('', 'COMMIT');
const ROLLBACK: Statement = statement('', 'ROLLBACK');

/**
 * The request path's statements, sent straight to the driver on a connection of the process's one
 * knex pool (src/ARCHITECTURE.md, rule 9: same pool, same limits, same search_path and timeouts).
 *
 * Why not knex here: measured on this machine class (one core, 8 concurrent transactions of a
 * `SELECT … FOR UPDATE` and an `UPDATE`), `knex.transaction` cost 180–290 µs of CPU per
 * transaction, the same statements on a pooled connection sent with knex.raw 105–130 µs, straight
 * to pg 85–95 µs, and as prepared statements 70–80 µs, with PostgreSQL itself doing 40% more
 * transactions per second. Everything off the request path (migrations, token API, compliance)
 * keeps using knex.
 */
export class DirectSql implements SqlQueryable {
  readonly #client: PoolClient;
  readonly #send: (connection: DriverConnection, s: Statement, values: readonly unknown[]) => Promise<Result>;
  readonly #kind: 'postgres' | 'pglite';
  #sent = 0;

  constructor(knex: Knex, kind: 'postgres' | 'pglite') {
    this.#client = knex.client;
    this.#kind = kind;
    this.#send = kind === 'postgres' ? sendPrepared : sendPlain;
  }

  /** Statements sent so far (the bench reports SQL per request). */
  get statementsSent(): number {
    return this.#sent;
  }

  /** One statement in its own implicit transaction. */
  async query(s: Statement, values: readonly unknown[]): Promise<Row[]> {
    const connection = await this.#client.acquireConnection();
    try {
      return (await this.#query(connection, s, values)).rows;
    } finally {
      await this.#client.releaseConnection(connection);
    }
  }

  /**
   * Runs `work` between BEGIN and COMMIT on one connection; rolls back and rethrows when `work`
   * or the commit fails. A connection whose rollback fails is not reused.
   */
  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const connection = await this.#client.acquireConnection();
    try {
      await this.#query(connection, BEGIN, []);
      const tx: SqlTransaction = { query: async (s, values) => (await this.#query(connection, s, values)).rows };
      const result = await work(tx);
      // After a failed statement that `work` caught, PostgreSQL answers COMMIT with ROLLBACK and
      // no error: the caller must not be told its writes were stored.
      const commit = await this.#query(connection, COMMIT, []);
      if (commit.command === 'ROLLBACK') throw new Error('the transaction was rolled back by the database');
      return result;
    } catch (err) {
      // Also after a failed BEGIN or COMMIT: with no transaction open, PostgreSQL answers a
      // ROLLBACK with a warning, not an error. A connection that cannot even do that is broken.
      try {
        await this.#query(connection, ROLLBACK, []);
      } catch (rollbackError) {
        // Not PGlite's: it has one connection, and knex-pglite would hand out the closed one again.
        if (this.#kind === 'postgres') connection.__knex__disposed = rollbackError;
      }
      throw err;
    } finally {
      await this.#client.releaseConnection(connection);
    }
  }

  #query(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Result> {
    this.#sent++;
    return this.#send(connection, s, values);
  }
}

/** Rows, and pg's command tag ("COMMIT", "ROLLBACK"; PGlite gives none). */
interface Result {
  readonly rows: Row[];
  readonly command?: string;
}

async function sendPrepared(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Result> {
  // pg: an unnamed statement (BEGIN, COMMIT) goes as a simple query; a named one is prepared once.
  const result = s.name
    ? await connection.query({ name: s.name, text: s.text, values })
    : await connection.query(s.text);
  return { rows: result.rows ?? [], command: result.command };
}

async function sendPlain(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Result> {
  // PGlite (in-process): nothing to gain from naming statements.
  const result = await connection.query(s.text, values.length > 0 ? values : undefined);
  return { rows: result.rows ?? [] };
}
