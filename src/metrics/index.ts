export { Registry, Counter, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE } from './registry';
export type { RegistrySnapshot, MetricSnapshot, Labels } from './registry';
export { FlowgateMetrics, renderMerged, type RateLimitLayer } from './flowgate-metrics';
export { metricsRouter, type MetricsRouterOptions } from './metrics-router';
export { startMetricsServer } from './metrics-server';
export { WebhookMetrics } from './webhook-metrics';
