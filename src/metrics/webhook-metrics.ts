import type { Counter, Gauge, Histogram, Registry } from './registry';

/**
 * The WhatsApp Business webhook's metrics (src/webhooks/). Labels stay bounded: outcomes and kinds
 * come from our code, message types are clipped to a known list, and a flow is its registered id
 * or Meta's numeric flow id (a bounded set per business; past a cap it becomes "(other)").
 */
export class WebhookMetrics {
  readonly deliveries: Counter;
  readonly messages: Counter;
  readonly completionHooks: Counter;
  readonly completionHookSeconds: Histogram;
  readonly alerts: Counter;
  readonly alertActive: Gauge;
  readonly flowStatus: Gauge;
  readonly statusChanges: Counter;

  constructor(r: Registry) {
    this.deliveries = r.counter(
      'flowgate_webhook_deliveries_total',
      'WhatsApp Business webhook POSTs answered, by outcome (accepted, signature_missing, signature_mismatch, malformed, too_large, …).',
      ['outcome', 'status'],
    );
    this.messages = r.counter(
      'flowgate_webhook_messages_total',
      'Messages and changes in webhook deliveries, by kind and what became of them (stored, duplicate, ignored, …).',
      ['kind', 'outcome'],
    );
    this.completionHooks = r.counter(
      'flowgate_completion_hooks_total',
      'onComplete hooks run after a completion reply was stored, by outcome (done, failed, timeout).',
      ['flow', 'outcome'],
    );
    this.completionHookSeconds = r.histogram(
      'flowgate_completion_hook_duration_seconds',
      'Time onComplete hooks took.',
      ['flow'],
      [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
    );
    this.alerts = r.counter(
      'flowgate_flow_alerts_total',
      'Meta\'s flow health alerts received (field "flows"), by flow, kind and state (ACTIVATED, DEACTIVATED).',
      ['flow', 'kind', 'state'],
    );
    // Every worker reads these states from the database, so the cluster's view is their maximum.
    this.alertActive = r.gauge(
      'flowgate_flow_alert_active',
      "1 while Meta's latest alert of this kind for the flow is ACTIVATED, 0 once DEACTIVATED.",
      ['flow', 'kind'],
      'max',
    );
    this.flowStatus = r.gauge(
      'flowgate_flow_status',
      "1 for the flow's current status as Meta last reported it (PUBLISHED, THROTTLED, BLOCKED, …), 0 for earlier ones.",
      ['flow', 'status'],
      'max',
    );
    this.statusChanges = r.counter(
      'flowgate_flow_status_changes_total',
      'FLOW_STATUS_CHANGE notifications received, by flow and new status.',
      ['flow', 'from', 'to'],
    );
  }
}
