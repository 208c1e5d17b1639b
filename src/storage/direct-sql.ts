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
  query(...args: unknown[]): Promise<{ rows?: Row[] }>;
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
 * knex pool (DESIGN.md practice 9: same pool, same limits, same search_path and timeouts).
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
  readonly #send: (connection: DriverConnection, s: Statement, values: readonly unknown[]) => Promise<Row[]>;
  #sent = 0;

  constructor(knex: Knex, kind: 'postgres' | 'pglite') {
    this.#client = knex.client as unknown as PoolClient;
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
      return await this.#query(connection, s, values);
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
      const tx: SqlTransaction = { query: (s, values) => this.#query(connection, s, values) };
      const result = await work(tx);
      await this.#query(connection, COMMIT, []);
      return result;
    } catch (err) {
      // Also after a failed BEGIN or COMMIT: with no transaction open, PostgreSQL answers a
      // ROLLBACK with a warning, not an error. A connection that cannot even do that is broken.
      try {
        await this.#query(connection, ROLLBACK, []);
      } catch (rollbackError) {
        connection.__knex__disposed = rollbackError;
      }
      throw err;
    } finally {
      await this.#client.releaseConnection(connection);
    }
  }

  #query(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Row[]> {
    this.#sent++;
    return this.#send(connection, s, values);
  }
}

async function sendPrepared(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Row[]> {
  // pg: an unnamed statement (BEGIN, COMMIT) goes as a simple query; a named one is prepared once.
  const result = s.name
    ? await connection.query({ name: s.name, text: s.text, values })
    : await connection.query(s.text);
  return result.rows ?? [];
}

async function sendPlain(connection: DriverConnection, s: Statement, values: readonly unknown[]): Promise<Row[]> {
  // PGlite (in-process): nothing to gain from naming statements.
  const result = await connection.query(s.text, values.length > 0 ? values : undefined);
  return result.rows ?? [];
}
