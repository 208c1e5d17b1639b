import type { Knex } from 'knex';
import type { AuditLog } from '../audit';
import { errorSummary, type Logger } from '../logging';
import type { WebhookMetrics } from '../metrics';
import { alertHash } from './message-ids';
import type { WebhookRegistry } from './registrations';
import type { FlowAlert } from './schemas';

export interface FlowAlertsDeps {
  readonly knex: Knex;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly flows: WebhookRegistry;
}

/** Meta's alert events and the metric `kind` each becomes. */
export const ALERT_KINDS: Readonly<Record<string, string>> = {
  ENDPOINT_ERROR_RATE: 'endpoint_error_rate',
  ENDPOINT_LATENCY: 'endpoint_latency',
  ENDPOINT_AVAILABILITY: 'endpoint_availability',
  CLIENT_ERROR_RATE: 'client_error_rate',
};

/** Distinct unregistered Meta flow ids that get their own label before the rest share "(other)". */
const MAX_FOREIGN_FLOW_LABELS = 100;

/** How often each process reads the alert states the others (or an earlier run) wrote. */
const REFRESH_MS = 30_000;

export type AlertOutcome = 'recorded' | 'duplicate';

/**
 * Flow health alerts (`field: "flows"`), each turned into an audit event, a warning log line and
 * metrics: a counter of alerts, the current state per flow and kind (a gauge, 1 while ACTIVATED),
 * and the flow's status (a gauge per status, plus a counter of changes). States are kept in the
 * database (`flow_alert_states`), so the gauges survive restarts and every worker reports the same
 * value (the cluster view takes their maximum); a state another worker received shows here within
 * REFRESH_MS. Notifications without a known kind (FLOW_VERSION_EXPIRY_WARNING, new ones) are
 * audited and logged too, without metrics state.
 */
export class FlowAlerts {
  readonly #foreign = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: FlowAlertsDeps) {}

  /**
   * Loads the stored states into the gauges now (without waiting: a service starts while its
   * database is unreachable) and every REFRESH_MS (the timer never holds the process open).
   */
  start(): void {
    this.refresh().catch((err: unknown) =>
      this.deps.logger.warn('flow alert states not loaded yet', { error: errorSummary(err) }),
    );
    this.#timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    const rows = (await this.deps.knex('flow_alert_states').select('meta_flow_id', 'kind', 'state')) as {
      meta_flow_id: string;
      kind: string;
      state: string;
    }[];
    for (const row of rows) this.#setGauges(this.#label(row.meta_flow_id), row.kind, row.state, undefined);
  }

  async handle(alert: FlowAlert, entryTime: number | undefined, requestId: string): Promise<AlertOutcome> {
    const metaFlowId = String(alert.flow_id);
    const flow = this.#label(metaFlowId);
    const isStatus = alert.event === 'FLOW_STATUS_CHANGE';
    const kind = isStatus ? 'status' : ALERT_KINDS[alert.event];
    const state = isStatus ? alert.new_status : alert.alert_state;
    const detail = alertDetail(alert, metaFlowId);
    const recorded = await this.deps.knex.transaction(async (trx) => {
      // An alert has no id: its entry time and content stand in, so a redelivery is not counted twice.
      if (entryTime !== undefined) {
        const claimed = (await trx('webhook_messages')
          .insert({ message_hash: alertHash(entryTime, alert), outcome: 'flow_alert' })
          .onConflict('message_hash')
          .ignore()
          .returning('message_hash')) as unknown[];
        if (claimed.length === 0) return false;
      }
      if (kind && state) {
        await trx('flow_alert_states')
          .insert({ meta_flow_id: metaFlowId, kind, state, updated_at: trx.fn.now() })
          .onConflict(['meta_flow_id', 'kind'])
          .merge(['state', 'updated_at']);
      }
      await this.deps.audit.appendInTransaction(trx, {
        occurredAt: new Date(),
        kind: 'request',
        requestId,
        flowId: this.deps.flows.byMetaId.get(metaFlowId),
        action: 'flow_alert',
        outcome: alert.event.toLowerCase(),
        httpStatus: 200,
        detail,
      });
      return true;
    });
    if (!recorded) {
      this.deps.metrics.messages.inc({ kind: 'flow_alert', outcome: 'duplicate' });
      return 'duplicate';
    }
    this.deps.metrics.messages.inc({ kind: 'flow_alert', outcome: 'recorded' });
    if (kind && state) {
      this.deps.metrics.alerts.inc({ flow, kind, state });
      this.#setGauges(flow, kind, state, isStatus ? alert.old_status : undefined);
    }
    this.deps.logger.warn(`WhatsApp flow alert ${alert.event}`, { flow, requestId, ...detail });
    return 'recorded';
  }

  #setGauges(flow: string, kind: string, state: string, previousStatus: string | undefined): void {
    const m = this.deps.metrics;
    if (kind !== 'status') {
      m.alertActive.set({ flow, kind }, state === 'ACTIVATED' ? 1 : 0);
      return;
    }
    if (previousStatus !== undefined) {
      m.statusChanges.inc({ flow, from: previousStatus, to: state });
      m.flowStatus.set({ flow, status: previousStatus }, 0);
    }
    for (const status of KNOWN_STATUSES) if (status !== state) m.flowStatus.set({ flow, status }, 0);
    m.flowStatus.set({ flow, status: state }, 1);
  }

  /** The registered flow's id when Meta's id is mapped (metaFlowId), else Meta's id, up to a cap. */
  #label(metaFlowId: string): string {
    const local = this.deps.flows.byMetaId.get(metaFlowId);
    if (local) return local;
    if (this.#foreign.has(metaFlowId)) return metaFlowId;
    if (this.#foreign.size >= MAX_FOREIGN_FLOW_LABELS) return '(other)';
    this.#foreign.add(metaFlowId);
    return metaFlowId;
  }
}

/** Statuses a flow moves through (Flow health and monitoring); a gauge series each once seen. */
const KNOWN_STATUSES = ['DRAFT', 'PUBLISHED', 'THROTTLED', 'BLOCKED', 'DEPRECATED'];

/** What the audit event and log line keep: Meta's numbers and enums, and its message clipped. */
function alertDetail(alert: FlowAlert, metaFlowId: string): Record<string, unknown> {
  const detail: Record<string, unknown> = { event: alert.event, meta_flow_id: metaFlowId };
  for (const key of [
    'alert_state',
    'threshold',
    'error_rate',
    'p50_latency',
    'p90_latency',
    'requests_count',
    'availability',
    'old_status',
    'new_status',
  ] as const) {
    if (alert[key] !== undefined) detail[key] = alert[key];
  }
  if (alert.errors) {
    detail.errors = alert.errors.slice(0, 20).map((e) => ({
      error_type: e.error_type,
      error_rate: e.error_rate,
      error_count: e.error_count,
    }));
  }
  const text = alert.message ?? alert.warning;
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  if (text !== undefined) detail.message = text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
  return detail;
}
