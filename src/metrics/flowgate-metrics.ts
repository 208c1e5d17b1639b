import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { RequestObservation } from '../flows';
import { Registry, type Counter, type Gauge, type Histogram, type RegistrySnapshot } from './registry';
import { WebhookMetrics } from './webhook-metrics';

/** Seconds; WhatsApp gives up at 10 s (src/protocol/NOTES.md, "Responses"), so the top buckets sit around it. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export type RateLimitLayer = 'per_token' | 'failed_per_ip' | 'global';

/**
 * Every metric flowgate exports. Labels are bounded by construction: flow and screen ids come from
 * the registry (unknown screens are "(unknown)", unknown flows ""), outcomes and statuses from our
 * own code. No token, subject, address or user value is ever a label.
 */
export class FlowgateMetrics {
  readonly registry = new Registry();
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly decryptFailures: Counter;
  readonly signatureFailures: Counter;
  readonly rsaSeconds: Counter;
  readonly rsaDecrypts: Counter;
  readonly auditBatchSize: Histogram;
  readonly rateLimited: Counter;
  readonly errorNotifications: Counter;
  readonly handlerFailures: Counter;
  readonly rateLimitStoreErrors: Counter;
  readonly workers: Gauge;
  readonly workerRestarts: Counter;
  readonly workerRequests: Counter;
  readonly eventLoopDelay: Gauge;
  readonly residentMemory: Gauge;
  /** The WhatsApp Business webhook's (src/webhooks/). */
  readonly webhook: WebhookMetrics;
  /** This process's worker slot (0..WEB_CONCURRENCY-1, stable across restarts); "0" when alone. */
  workerSlot = '0';
  #loopDelay: IntervalHistogram | undefined;

  constructor() {
    const r = this.registry;
    this.requests = r.counter('flowgate_requests_total', 'Flow endpoint requests answered.', [
      'flow',
      'screen',
      'outcome',
      'status',
    ]);
    this.duration = r.histogram(
      'flowgate_request_duration_seconds',
      'Time from the body being read to the answer being ready, per flow.',
      ['flow', 'status'],
      LATENCY_BUCKETS,
    );
    this.decryptFailures = r.counter(
      'flowgate_decrypt_failures_total',
      'Requests answered 421 because the envelope could not be decrypted.',
      ['flow'],
    );
    this.signatureFailures = r.counter(
      'flowgate_signature_failures_total',
      'Requests answered 432 because X-Hub-Signature-256 was missing or wrong.',
      ['flow'],
    );
    this.rsaSeconds = r.counter(
      'flowgate_rsa_decrypt_seconds_total',
      "Wall-clock time in RSA-OAEP private-key decrypts of envelopes (one per key tried, so one per request outside a key rotation; the endpoint's cost floor), " +
        'including any time the process was descheduled meanwhile. Against process CPU seconds, the share that is RSA.',
    );
    this.rsaDecrypts = r.counter(
      'flowgate_rsa_decrypts_total',
      'RSA-OAEP private-key decrypts of envelopes, failed ones included.',
    );
    this.auditBatchSize = r.histogram(
      'flowgate_audit_batch_size',
      'Audit events written per group commit.',
      [],
      BATCH_BUCKETS,
    );
    this.rateLimited = r.counter('flowgate_rate_limited_total', 'Requests refused by a rate limit.', ['layer']);
    this.errorNotifications = r.counter(
      'flowgate_error_notifications_total',
      'Error notifications from WhatsApp clients about an earlier response, by Meta\'s error key ("(other)" for any other, "(none)" without one) and status (200 acknowledged, 427 refused).',
      ['flow', 'error_key', 'status'],
    );
    this.handlerFailures = r.counter(
      'flowgate_handler_failures_total',
      'Screen handlers that threw, timed out or returned what the Flow JSON forbids (status 200: shown as an error on the screen; 500: no screen could carry it).',
      ['flow', 'screen', 'outcome', 'status'],
    );
    this.rateLimitStoreErrors = r.counter(
      'flowgate_rate_limit_store_errors_total',
      'Rate-limit store failures (the request was let through: limits fail open).',
      ['store'],
    );
    this.workers = r.gauge('flowgate_workers', 'Worker processes currently serving.');
    this.workerRestarts = r.counter('flowgate_worker_restarts_total', 'Workers restarted after an unexpected exit.');
    this.workerRequests = r.counter(
      'flowgate_worker_requests_total',
      'Flow endpoint requests answered per worker slot (shows how the port is shared).',
      ['worker'],
    );
    this.eventLoopDelay = r.gauge(
      'flowgate_event_loop_delay_p99_seconds',
      '99th percentile of event-loop delay since the previous scrape, per worker (RSA and JSON work run on the loop).',
      ['worker'],
    );
    this.residentMemory = r.gauge('flowgate_process_resident_memory_bytes', 'Resident memory per worker.', ['worker']);
    this.webhook = new WebhookMetrics(r);
  }

  /** Starts sampling this process (event-loop delay); serving processes call it, the primary does not. */
  startProcessMetrics(): void {
    this.#loopDelay ??= monitorEventLoopDelay({ resolution: 10 });
    this.#loopDelay.enable();
  }

  stopProcessMetrics(): void {
    this.#loopDelay?.disable();
  }

  /** The dispatcher's per-request observer. */
  observe(o: RequestObservation): void {
    const flow = o.flowId ?? '';
    this.requests.inc({ flow, screen: o.screen ?? '', outcome: o.outcome, status: o.status });
    this.duration.observe({ flow, status: o.status }, o.durationMs / 1000);
    if (o.errorCode === 'cannot_decrypt') this.decryptFailures.inc({ flow });
    if (o.errorCode === 'signature_mismatch') this.signatureFailures.inc({ flow });
    if (o.outcome === 'rate_limited') this.rateLimited.inc({ layer: 'per_token' });
    if (o.noticeKey !== undefined) {
      this.errorNotifications.inc({ flow, error_key: o.noticeKey ?? '(none)', status: o.status });
    }
    if (o.outcome === 'handler_failed' || o.outcome === 'handler_timeout') {
      this.handlerFailures.inc({ flow, screen: o.screen ?? '', outcome: o.outcome, status: o.status });
    }
    this.workerRequests.inc({ worker: this.workerSlot });
  }

  /** The dispatcher's RSA time sink. */
  rsaDecrypt(seconds: number): void {
    this.rsaSeconds.inc({}, seconds);
    this.rsaDecrypts.inc();
  }

  auditBatch(size: number): void {
    this.auditBatchSize.observe({}, size);
  }

  snapshot(): RegistrySnapshot {
    this.#sampleProcess();
    return this.registry.snapshot();
  }

  render(): string {
    this.#sampleProcess();
    return this.registry.render();
  }

  #sampleProcess(): void {
    if (!this.#loopDelay) return;
    const worker = this.workerSlot;
    this.eventLoopDelay.set({ worker }, this.#loopDelay.percentile(99) / 1e9);
    this.#loopDelay.reset();
    this.residentMemory.set({ worker }, process.memoryUsage.rss());
  }
}

/** Renders the sum of several processes' snapshots (the cluster primary's view). */
export function renderMerged(snapshots: readonly RegistrySnapshot[], extra?: (m: FlowgateMetrics) => void): string {
  const merged = new FlowgateMetrics();
  for (const s of snapshots) merged.registry.merge(s);
  extra?.(merged);
  return merged.render();
}
