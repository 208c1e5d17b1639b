import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The WhatsApp Business webhook's metrics (src/webhooks/). Labels stay bounded: outcomes and kinds
 * come from our code, message types are clipped to a known list, and a flow is its registered id
 * or Meta's numeric flow id (a bounded set per business; past a cap it becomes "(other)").
 */
export class WebhookMetrics {
  readonly deliveries: Counter<'outcome' | 'status'>;
  readonly messages: Counter<'kind' | 'outcome'>;
  readonly completionHooks: Counter<'flow' | 'outcome'>;
  readonly completionHookSeconds: Histogram<'flow'>;
  readonly alerts: Counter<'flow' | 'kind' | 'state'>;
  readonly alertActive: Gauge<'flow' | 'kind'>;
  readonly flowStatus: Gauge<'flow' | 'status'>;
  readonly statusChanges: Counter<'flow' | 'from' | 'to'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'flowgate_webhook_deliveries_total',
      help: 'WhatsApp Business webhook POSTs answered, by outcome (accepted, signature_missing, signature_mismatch, malformed, too_large, …).',
      labelNames: ['outcome', 'status'],
      registers,
    });
    this.messages = new Counter({
      name: 'flowgate_webhook_messages_total',
      help: 'Messages and changes in webhook deliveries, by kind and what became of them (stored, duplicate, ignored, …).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.completionHooks = new Counter({
      name: 'flowgate_completion_hooks_total',
      help: 'onComplete hooks run after a completion reply was stored, by outcome (done, failed, timeout).',
      labelNames: ['flow', 'outcome'],
      registers,
    });
    this.completionHookSeconds = new Histogram({
      name: 'flowgate_completion_hook_duration_seconds',
      help: 'Time onComplete hooks took.',
      labelNames: ['flow'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.alerts = new Counter({
      name: 'flowgate_flow_alerts_total',
      help: 'Meta\'s flow health alerts received (field "flows"), by flow, kind and state (ACTIVATED, DEACTIVATED).',
      labelNames: ['flow', 'kind', 'state'],
      registers,
    });
    // Every worker reads these states from the database, so the cluster's view is their maximum,
    // not their sum.
    this.alertActive = new Gauge({
      name: 'flowgate_flow_alert_active',
      help: "1 while Meta's latest alert of this kind for the flow is ACTIVATED, 0 once DEACTIVATED.",
      labelNames: ['flow', 'kind'],
      aggregator: 'max',
      registers,
    });
    this.flowStatus = new Gauge({
      name: 'flowgate_flow_status',
      help: "1 for the flow's current status as Meta last reported it (PUBLISHED, THROTTLED, BLOCKED, …), 0 for earlier ones.",
      labelNames: ['flow', 'status'],
      aggregator: 'max',
      registers,
    });
    this.statusChanges = new Counter({
      name: 'flowgate_flow_status_changes_total',
      help: 'FLOW_STATUS_CHANGE notifications received, by flow and new status.',
      labelNames: ['flow', 'from', 'to'],
      registers,
    });
  }
}
