import type { AuditEvent } from '../audit';
import type { Logger } from '../logging';
import type { EdgeRefusal } from './edge-refusal';

/** How often each process writes its refusal summaries. */
export const REFUSAL_SUMMARY_MS = 10_000;
/** Distinct addresses counted per layer and interval; past it, the count says "at least". */
const MAX_ADDRESSES = 10_000;

interface Tally {
  refused: number;
  readonly addresses: Set<string>;
  readonly firstAt: Date;
  lastAt: Date;
}

/**
 * The audit trail of requests the edge refused with 429 (failed requests per address, global
 * ceiling). Those are refused before their body is read, when a flood may be under way: one audit
 * row each would turn every refused request into a database write, the very load the limit sheds.
 * So each process writes one event per layer and interval instead, through the group commit:
 * outcome `rate_limited`, HTTP 429, and in `detail` the layer, how many requests it refused, from
 * how many distinct addresses, and the first and last refusal. No address is stored (the audit log
 * holds no client addresses; the limit itself is in the logs and metrics).
 */
export class RefusalAudit {
  readonly #append: (event: AuditEvent) => Promise<void>;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #tallies = new Map<EdgeRefusal['layer'], Tally>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(append: (event: AuditEvent) => Promise<void>, logger: Logger, intervalMs = REFUSAL_SUMMARY_MS) {
    this.#append = append;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Counts one refusal; cheap and synchronous (the refused request waits for nothing). */
  record(layer: EdgeRefusal['layer'], address: string | undefined, at = new Date()): void {
    let tally = this.#tallies.get(layer);
    if (!tally) {
      tally = { refused: 0, addresses: new Set(), firstAt: at, lastAt: at };
      this.#tallies.set(layer, tally);
    }
    tally.refused++;
    tally.lastAt = at;
    if (tally.addresses.size < MAX_ADDRESSES) tally.addresses.add(address ?? 'unknown');
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes the summaries counted so far and waits until they are committed (or failed and logged). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const tallies = this.#tallies;
    this.#tallies = new Map();
    const events = [...tallies].map(([layer, t]) => summaryEvent(layer, t));
    const writing = this.#writing.then(async () => {
      const results = await Promise.allSettled(events.map((e) => this.#append(e)));
      const lost = results.filter((r) => r.status === 'rejected').length;
      if (lost > 0) this.#logger.error('rate-limit refusal summaries not audited', { events: lost });
    });
    this.#writing = writing;
    await writing;
  }
}

function summaryEvent(layer: EdgeRefusal['layer'], t: Tally): AuditEvent {
  return {
    occurredAt: t.lastAt,
    kind: 'request',
    outcome: 'rate_limited',
    httpStatus: 429,
    detail: {
      layer,
      refused: t.refused,
      addresses: t.addresses.size,
      addresses_capped: t.addresses.size >= MAX_ADDRESSES,
      first_at: t.firstAt.toISOString(),
      last_at: t.lastAt.toISOString(),
    },
  };
}
