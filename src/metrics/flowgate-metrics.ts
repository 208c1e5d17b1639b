import { Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { RequestObservation } from '../endpoint';
import { LabelSets } from './label-sets';
import { processMetrics } from './process-metrics';
import { WebhookMetrics } from './webhook-metrics';

/** Seconds; WhatsApp gives up at 10 s (src/protocol/NOTES.md, "Responses"), so the top buckets sit around it. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export type RateLimitLayer = 'per_token' | 'failed_per_ip' | 'global';

/**
 * Worker restarts are counted by whoever restarts workers: the cluster primary (src/lifecycle/primary.ts),
 * or a process serving alone, which never does and shows 0. One definition for both.
 */
export function workerRestartsCounter(registry: Registry): Counter {
  return new Counter({
    name: 'flowgate_worker_restarts_total',
    help: 'Workers restarted after an unexpected exit.',
    registers: [registry],
  });
}

export interface FlowgateMetricsOptions {
  /**
   * This process's worker slot (0..WEB_CONCURRENCY-1, stable across restarts) when it is a
   * cluster worker. Absent: the process serves alone (slot "0") and carries the restart counter
   * itself, since there is no primary to add it.
   */
  readonly workerSlot?: string;
}

/**
 * Every metric a serving process exports, on prom-client. Labels are bounded by construction: flow
 * and screen ids come from the registry (unknown screens are "(unknown)", unknown flows ""),
 * outcomes and statuses from our own code. No token, subject, address or user value is ever a label.
 *
 * Across cluster workers prom-client's AggregatorRegistry sums every series (src/metrics/cluster.ts);
 * the exceptions say so with their `aggregator`.
 */
export class FlowgateMetrics {
  /** Our metrics; the process's own are in `registries[1]` (shared by every service of the process). */
  readonly registry = new Registry();
  readonly registries: readonly [Registry, Registry];
  readonly requests: Counter<'flow' | 'screen' | 'outcome' | 'status'>;
  readonly duration: Histogram<'flow' | 'status'>;
  readonly decryptFailures: Counter<'flow'>;
  readonly signatureFailures: Counter<'flow'>;
  readonly rsaSeconds: Counter;
  readonly rsaDecrypts: Counter;
  readonly auditBatchSize: Histogram;
  readonly rateLimited: Counter<'layer'>;
  readonly errorNotifications: Counter<'flow' | 'error_key' | 'status'>;
  readonly handlerFailures: Counter<'flow' | 'screen' | 'outcome' | 'status'>;
  readonly rateLimitStoreErrors: Counter<'store'>;
  /** Set to 1 once this process listens: summed over workers, the number serving. */
  readonly workers: Gauge;
  /** Only in a process serving alone; the cluster primary keeps its own. */
  readonly workerRestarts: Counter | undefined;
  readonly workerRequests: Counter<'worker'>;
  /** The WhatsApp Business webhook's (src/webhooks/). */
  readonly webhook: WebhookMetrics;
  readonly #requestLabels = new LabelSets('flow', 'screen', 'outcome', 'status');
  readonly #durationLabels = new LabelSets('flow', 'status');
  readonly #workerLabels: LabelValues<'worker'>;
  /** A plain copy of `rsaSeconds`, for the bench's synchronous reading (prom-client's get() is async). */
  #rsaSecondsTotal = 0;

  constructor(options: FlowgateMetricsOptions = {}) {
    const slot = options.workerSlot ?? '0';
    this.#workerLabels = Object.freeze({ worker: slot });
    this.registries = [this.registry, processMetrics(slot)];
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'flowgate_requests_total',
      help: 'Flow endpoint requests answered.',
      labelNames: ['flow', 'screen', 'outcome', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'flowgate_request_duration_seconds',
      help: 'Time from the body being read to the answer being ready, per flow.',
      labelNames: ['flow', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.decryptFailures = new Counter({
      name: 'flowgate_decrypt_failures_total',
      help: 'Requests answered 421 because the envelope could not be decrypted.',
      labelNames: ['flow'],
      registers,
    });
    this.signatureFailures = new Counter({
      name: 'flowgate_signature_failures_total',
      help: 'Requests answered 432 because X-Hub-Signature-256 was missing or wrong.',
      labelNames: ['flow'],
      registers,
    });
    this.rsaSeconds = new Counter({
      name: 'flowgate_rsa_decrypt_seconds_total',
      help:
        "Wall-clock time in RSA-OAEP private-key decrypts of envelopes (one per key tried, so one per request outside a key rotation; the endpoint's cost floor), " +
        'including any time the process was descheduled meanwhile. Against process CPU seconds, the share that is RSA.',
      registers,
    });
    this.rsaDecrypts = new Counter({
      name: 'flowgate_rsa_decrypts_total',
      help: 'RSA-OAEP private-key decrypts of envelopes, failed ones included.',
      registers,
    });
    this.auditBatchSize = new Histogram({
      name: 'flowgate_audit_batch_size',
      help: 'Audit events written per group commit.',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.rateLimited = new Counter({
      name: 'flowgate_rate_limited_total',
      help: 'Requests refused by a rate limit.',
      labelNames: ['layer'],
      registers,
    });
    this.errorNotifications = new Counter({
      name: 'flowgate_error_notifications_total',
      help: 'Error notifications from WhatsApp clients about an earlier response, by Meta\'s error key ("(other)" for any other, "(none)" without one) and status (200 acknowledged, 427 refused).',
      labelNames: ['flow', 'error_key', 'status'],
      registers,
    });
    this.handlerFailures = new Counter({
      name: 'flowgate_handler_failures_total',
      help: 'Screen handlers that threw, timed out or returned what the Flow JSON forbids (status 200: shown as an error on the screen; 500: no screen could carry it).',
      labelNames: ['flow', 'screen', 'outcome', 'status'],
      registers,
    });
    this.rateLimitStoreErrors = new Counter({
      name: 'flowgate_rate_limit_store_errors_total',
      help: 'Rate-limit store failures (the request was let through: limits fail open).',
      labelNames: ['store'],
      registers,
    });
    this.workers = new Gauge({
      name: 'flowgate_workers',
      help: 'Worker processes currently serving.',
      registers,
    });
    this.workerRestarts = options.workerSlot === undefined ? workerRestartsCounter(this.registry) : undefined;
    this.workerRequests = new Counter({
      name: 'flowgate_worker_requests_total',
      help: 'Flow endpoint requests answered per worker slot (shows how the port is shared).',
      labelNames: ['worker'],
      registers,
    });
    this.webhook = new WebhookMetrics(this.registry);
  }

  /** The dispatcher's per-request observer: the common series use cached label objects. */
  observe(o: RequestObservation): void {
    const flow = o.flowId ?? '';
    this.requests.inc(this.#requestLabels.of(flow, o.screen ?? '', o.outcome, o.status));
    this.duration.observe(this.#durationLabels.of(flow, o.status), o.durationMs / 1000);
    if (o.errorCode === 'cannot_decrypt') this.decryptFailures.inc({ flow });
    if (o.errorCode === 'signature_mismatch') this.signatureFailures.inc({ flow });
    if (o.outcome === 'rate_limited') this.rateLimited.inc({ layer: 'per_token' });
    if (o.noticeKey !== undefined) {
      this.errorNotifications.inc({ flow, error_key: o.noticeKey ?? '(none)', status: o.status });
    }
    if (o.outcome === 'handler_failed' || o.outcome === 'handler_timeout') {
      this.handlerFailures.inc({ flow, screen: o.screen ?? '', outcome: o.outcome, status: o.status });
    }
    this.workerRequests.inc(this.#workerLabels);
  }

  /** The dispatcher's RSA time sink. */
  rsaDecrypt(seconds: number): void {
    this.rsaSeconds.inc(seconds);
    this.rsaDecrypts.inc();
    this.#rsaSecondsTotal += seconds;
  }

  /** Seconds in RSA decrypts so far (the same as `flowgate_rsa_decrypt_seconds_total`), read synchronously. */
  get rsaSecondsTotal(): number {
    return this.#rsaSecondsTotal;
  }

  auditBatch(size: number): void {
    this.auditBatchSize.observe(size);
  }

  /** This process's exposition: our metrics and the process's. */
  render(): Promise<string> {
    return Registry.merge([...this.registries]).metrics();
  }
}
