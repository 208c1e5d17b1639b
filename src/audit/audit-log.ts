import type { Knex } from 'knex';
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

  append(event: AuditEvent): Promise<void> {
    if (!this.#options.enabled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#startDrain();
    });
  }

  #startDrain(): void {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
      // An event queued after the drain loop's last look at the queue but before this callback ran
      // (e.g. `await append(a); await append(b)`: b is queued in the microtask after a resolves)
      // found #flushing still set and started no drain: it would wait for the next append, forever
      // on a quiet process. Found by test/component/audit-append.test.ts.
      if (this.#queue.length > 0) this.#startDrain();
    });
  }

  /** Waits until every queued event is written (or failed). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #drain(): Promise<void> {
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
        this.#logger.error('audit batch not written', { events: batch.length, error: err });
        batch.forEach((p) => p.reject(err));
      }
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
