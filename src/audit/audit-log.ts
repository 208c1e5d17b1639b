import type { Knex } from 'knex';
import { isDatabaseUnavailable } from '../flows/database-errors';
import type { Logger } from '../logging';
import { toNumber } from '../storage';
import { chainHash, GENESIS_HASH } from './chain';
import type { AuditEvent } from './event';

export interface AuditLogOptions {
  readonly enabled: boolean;
  /** Parallel hash chains; writers take a free one, so they rarely wait for each other. */
  readonly chains: number;
  /** Most events one group commit writes. */
  readonly batchMax: number;
}

/** Longest a caller of `append` waits: below WhatsApp's 10 s, above the pool's acquire timeout. */
export const APPEND_TIMEOUT_MS = 8000;

export class AuditWriteTimeoutError extends Error {
  constructor(ms: number) {
    super(`audit event not committed within ${ms} ms`);
    this.name = 'AuditWriteTimeoutError';
  }
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Head {
  readonly chain: number;
  seq: number;
  hash: string;
}

/**
 * Writes audit events durably before a request is answered, two ways:
 * - `appendInTransaction` — inside a request's own transaction (session update, submission and
 *   event commit together or not at all);
 * - `append` — for requests without a session (ping, rejections): events queue and one writer per
 *   process commits them in batches (group commit), resolving each caller only after the commit.
 * Each write takes one chain's head row with `FOR UPDATE SKIP LOCKED`, so concurrent writers
 * spread over the chains instead of queueing on a single lock.
 */
export class AuditLog {
  readonly #knex: Knex;
  readonly #options: AuditLogOptions;
  readonly #logger: Logger;
  readonly #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #batchSizes: ((size: number) => void) | undefined;

  constructor(knex: Knex, options: AuditLogOptions, logger: Logger) {
    this.#knex = knex;
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

  async appendInTransaction(trx: Knex.Transaction, event: AuditEvent): Promise<void> {
    if (!this.#options.enabled) return;
    const head = await this.#takeHead(trx);
    await this.#write(trx, head, [event]);
  }

  /**
   * Queues `event` for the next group commit; resolves once it is committed. Rejects when the batch
   * fails, and in any case after APPEND_TIMEOUT_MS, so a caller never waits on a stuck database.
   */
  append(event: AuditEvent): Promise<void> {
    if (!this.#options.enabled) return Promise.resolve();
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
      // #drain clears #flushing in the same synchronous step that sees the queue empty, so an event
      // queued by a caller resumed from the previous batch always finds a running drain or starts one.
      this.#flushing ??= this.#drain();
    });
  }

  /** Waits until every queued event is written (or failed). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #drain(): Promise<void> {
    try {
      // Let the current tick's requests join the first batch.
      await new Promise((r) => setImmediate(r));
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#options.batchMax);
        try {
          await this.#knex.transaction(async (trx) => {
            const head = await this.#takeHead(trx);
            await this.#write(
              trx,
              head,
              batch.map((p) => p.event),
            );
          });
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
    } finally {
      // Synchronous with the empty-queue check above: there is no moment where an event can be
      // queued behind a drain that has already finished (that event would wait forever).
      this.#flushing = undefined;
    }
  }

  async #writeAlone(pending: Pending): Promise<void> {
    try {
      await this.#knex.transaction(async (trx) => this.#write(trx, await this.#takeHead(trx), [pending.event]));
      this.#batchSizes?.(1);
      pending.resolve();
    } catch (err) {
      this.#logger.error('audit event not written', { outcome: pending.event.outcome, error: err });
      pending.reject(err);
    }
  }

  async #takeHead(trx: Knex.Transaction): Promise<Head> {
    const chains = this.#options.chains;
    const free = (await trx('audit_chain_heads')
      .where('chain', '<', chains)
      .orderByRaw('random()')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .select('chain', 'seq', 'hash')) as Record<string, unknown>[];
    const row =
      free[0] ??
      ((await trx('audit_chain_heads')
        .where({ chain: Math.floor(Math.random() * chains) })
        .forUpdate()
        .first('chain', 'seq', 'hash')) as Record<string, unknown> | undefined);
    if (!row) throw new Error('audit chain heads are missing; was the audit log initialised?');
    return { chain: toNumber(row.chain), seq: toNumber(row.seq), hash: String(row.hash) };
  }

  async #write(trx: Knex.Transaction, head: Head, events: readonly AuditEvent[]): Promise<void> {
    const rows = events.map((event) => {
      const seq = head.seq + 1;
      const hash = chainHash(head.hash, head.chain, seq, event);
      const row = toRow(event, head.chain, seq, head.hash, hash);
      head.seq = seq;
      head.hash = hash;
      return row;
    });
    await trx('audit_events').insert(rows);
    await trx('audit_chain_heads').where({ chain: head.chain }).update({ seq: head.seq, hash: head.hash });
  }
}

function toRow(event: AuditEvent, chain: number, seq: number, prevHash: string, hash: string): Record<string, unknown> {
  return {
    chain,
    seq,
    occurred_at: event.occurredAt,
    kind: event.kind,
    request_id: event.requestId ?? null,
    flow_id: event.flowId ?? null,
    screen: event.screen ?? null,
    action: event.action ?? null,
    outcome: event.outcome,
    http_status: event.httpStatus ?? null,
    duration_ms: event.durationMs ?? null,
    token_hash: event.tokenHash ?? null,
    subject_ref: event.subjectRef ?? null,
    fields: event.fields ? JSON.stringify(event.fields) : null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
    prev_hash: prevHash,
    hash,
  };
}
