import type { Knex } from 'knex';
import { isDatabaseUnavailable } from '../storage/database-errors';
import type { Logger } from '../logging';
import {
  sessionLogin,
  statement,
  type BoundStatement,
  type DirectSql,
  type SqlQueryable,
  type Statement,
} from '../storage';
import { canonicalContent, GENESIS_HASH } from './chain';
import type { AuditEvent } from './event';
import { FlowgateError } from '../errors';
import { columnsOf } from './record';

export interface AuditLogOptions {
  readonly enabled: boolean;
  /** Parallel hash chains; writers take a free one, so they rarely wait for each other. */
  readonly chains: number;
  /** Most events one group commit writes. */
  readonly batchMax: number;
}

const APPEND = statement('flowgate_audit_append', 'select audit_append($1, $2::jsonb)');

/** The combined statement of each `alongside` statement, made once. */
const alongsideStatements = new Map<string, Statement>();

function appendAlongside(write: Statement): Statement {
  let combined = alongsideStatements.get(write.name);
  if (!combined) {
    // The write's own parameters come first ($1…$n); the append's two follow.
    const n = (write.text.match(/\$\d+/g) ?? []).reduce((max, p) => Math.max(max, Number(p.slice(1))), 0);
    combined = statement(
      `${write.name}_audited`,
      `with alongside as (${write.text}) select audit_append($${n + 1}, $${n + 2}::jsonb) from alongside`,
    );
    alongsideStatements.set(write.name, combined);
  }
  return combined;
}

/** Group-commit batches one process has in flight at once (see #schedule). */
const WRITERS = 2;

/** Longest a caller of `append` waits: below WhatsApp's 10 s, above the pool's acquire timeout. */
export const APPEND_TIMEOUT_MS = 8000;

export class AuditWriteTimeoutError extends FlowgateError {
  constructor(ms: number) {
    super('audit_write_timeout', `audit event not committed within ${ms} ms`);
  }
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Writes audit events durably before a request is answered, two ways:
 * - `appendInTransaction` — inside a request's own transaction (session update, submission and
 *   event commit together or not at all);
 * - `append` — for requests without a session (ping, rejections): events queue and up to two
 *   writers per process commit them in batches (group commit), resolving each caller only after
 *   the commit.
 * Each write takes one chain's head row with `FOR UPDATE SKIP LOCKED`, so concurrent writers
 * spread over the chains instead of queueing on a single lock.
 */
export class AuditLog {
  readonly #knex: Knex;
  readonly #sql: DirectSql;
  readonly #options: AuditLogOptions;
  readonly #logger: Logger;
  readonly #queue: Pending[] = [];
  /** Batches in flight (at most WRITERS). */
  readonly #writing = new Set<Promise<void>>();
  #scheduled = false;
  #batchSizes: ((size: number) => void) | undefined;
  /** This pool's login, once asked (see #stamped): not at start, which must work without a database. */
  #login: string | undefined;

  /** `db`: the process's database (knex for set-up and compliance, its direct statements for requests). */
  constructor(db: { readonly knex: Knex; readonly sql: DirectSql }, options: AuditLogOptions, logger: Logger) {
    this.#knex = db.knex;
    this.#sql = db.sql;
    this.#options = options;
    this.#logger = logger;
  }

  get enabled(): boolean {
    return this.#options.enabled;
  }

  /** Observer for metrics: called with the size of every committed batch. */
  onBatch(observer: (size: number) => void): void {
    this.#batchSizes = observer;
  }

  /** Creates the chain head rows this configuration uses (idempotent). */
  async init(): Promise<void> {
    if (!this.#options.enabled) return;
    const rows = Array.from({ length: this.#options.chains }, (_, chain) => ({ chain, seq: 0, hash: GENESIS_HASH }));
    await this.#knex('audit_chain_heads').insert(rows).onConflict('chain').ignore();
  }

  /** Appends inside a knex transaction (compliance actions: the change and its event commit together). */
  async appendInTransaction(trx: Knex.Transaction, event: AuditEvent): Promise<void> {
    if (!this.#options.enabled) return;
    await trx.raw('select audit_append(?, ?::jsonb)', this.#arguments([await this.#stamped(event, trx)]));
  }

  /**
   * Appends for a request (src/storage/direct-sql.ts), in its transaction or as one statement of its
   * own. `alongside`: a data-modifying statement that returns one row when it wrote (the guarded
   * session upsert), sent in the same statement as the append (a data-modifying WITH): one round
   * trip, and the event is appended only if the write happened. Returns whether it did; always
   * true without `alongside`.
   */
  async appendInRequest(db: SqlQueryable, event: AuditEvent, alongside?: BoundStatement): Promise<boolean> {
    if (!this.#options.enabled) {
      return alongside ? (await db.query(alongside.statement, alongside.values)).length === 1 : true;
    }
    const args = this.#arguments([event]);
    if (!alongside) {
      await db.query(APPEND, args);
      return true;
    }
    return (await db.query(appendAlongside(alongside.statement), [...alongside.values, ...args])).length === 1;
  }

  /**
   * Queues `event` for the next group commit; resolves once it is committed. Rejects when the batch
   * fails, and in any case after APPEND_TIMEOUT_MS, so a caller never waits on a stuck database.
   */
  append(event: AuditEvent): Promise<void> {
    if (!this.#options.enabled) return Promise.resolve();
    if (event.kind === 'compliance') return this.#stamped(event, this.#knex).then((e) => this.#enqueue(e));
    return this.#enqueue(event);
  }

  #enqueue(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AuditWriteTimeoutError(APPEND_TIMEOUT_MS)), APPEND_TIMEOUT_MS);
      timer.unref();
      this.#queue.push({
        event,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.#schedule();
    });
  }

  /** Waits until every queued event is written (or failed). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#writing.size > 0 || this.#scheduled) {
      if (this.#writing.size > 0) await Promise.all(this.#writing);
      else await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Starts a batch on the next turn of the event loop (so the current tick's events join it) when
   * events wait and fewer than WRITERS batches are in flight. Two writers overlap: while one batch
   * waits for its commit (an fsync), the requests answered meanwhile fill the next, instead of the
   * process idling until the first returns — at 16 connections, audited pings left a worker idle
   * 12% of the time with one writer. Each batch takes its own chain (FOR UPDATE SKIP LOCKED).
   */
  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#writing.size >= WRITERS) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#queue.length === 0 || this.#writing.size >= WRITERS) return;
      const batch = this.#queue.splice(0, this.#options.batchMax);
      const writing: Promise<void> = this.#writeBatch(batch).finally(() => {
        this.#writing.delete(writing);
        this.#schedule();
      });
      this.#writing.add(writing);
      this.#schedule();
    });
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    try {
      // A single statement is its own transaction: no BEGIN and COMMIT round trips.
      await this.#write(batch.map((p) => p.event));
      this.#batchSizes?.(batch.length);
      batch.forEach((p) => p.resolve());
    } catch (err) {
      if (batch.length > 1 && !isDatabaseUnavailable(err)) {
        // One event the database refuses must not sink the others of its batch: retry alone.
        for (const pending of batch) await this.#writeAlone(pending);
      } else {
        this.#logger.error('audit batch not written', { events: batch.length, error: err });
        batch.forEach((p) => p.reject(err));
      }
    }
  }

  async #writeAlone(pending: Pending): Promise<void> {
    try {
      await this.#write([pending.event]);
      this.#batchSizes?.(1);
      pending.resolve();
    } catch (err) {
      this.#logger.error('audit event not written', { outcome: pending.event.outcome, error: err });
      pending.reject(err);
    }
  }

  /**
   * One statement (migrations/20261129000005): takes a free chain head, chains and inserts the
   * events, moves the head. The canonical content is made here, the hash in the database, with
   * the same definition (src/audit/chain.ts) that verify recomputes.
   */
  async #write(events: readonly AuditEvent[]): Promise<void> {
    await this.#sql.query(APPEND, this.#arguments(events));
  }

  /**
   * A compliance event whose actor carries `databaseUser`: the login of the connection that writes
   * it, which the database requires of every compliance event (migration 20261129000008, stored as
   * `detail.database_user`), so whoever runs a compliance command cannot record it under another
   * login. Request events pass as they are.
   */
  async #stamped(event: AuditEvent, db: Knex | Knex.Transaction): Promise<AuditEvent> {
    if (event.kind !== 'compliance') return event;
    this.#login ??= await sessionLogin(db);
    return { ...event, actor: { ...event.actor, databaseUser: this.#login } };
  }

  #arguments(events: readonly AuditEvent[]): [number, string] {
    return [this.#options.chains, JSON.stringify(events.map((event) => toArgument(storable(event))))];
  }
}

/**
 * PostgreSQL text and jsonb refuse NUL and unpaired UTF-16 surrogates, which request values (an
 * error notification's message, say) may carry: such an event would fail to write and its request
 * would fail with it. Both become U+FFFD before the event is hashed, so the hash covers what is stored.
 */
export function storable(event: AuditEvent): AuditEvent {
  return deepClean(event) as AuditEvent;
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what is replaced
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function deepClean(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE, '\ufffd');
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(deepClean);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[deepClean(k) as string] = deepClean(v);
  return out;
}

/** The JSON one event is passed to `audit_append` as (cleaned, with its canonical content). */
export function auditArgument(event: AuditEvent): Record<string, unknown> {
  return toArgument(storable(event));
}

function toArgument(event: AuditEvent): Record<string, unknown> {
  return { content: canonicalContent(event), ...columnsOf(event) };
}
