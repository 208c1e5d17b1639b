export {
  FlowgateMetrics,
  workerRestartsCounter,
  type FlowgateMetricsOptions,
  type RateLimitLayer,
} from './flowgate-metrics';
export { ClusterMetrics, answerClusterCollection } from './cluster';
export { metricsRouter, type MetricsRouterOptions } from './metrics-router';
export { startMetricsServer } from './metrics-server';
export { WebhookMetrics } from './webhook-metrics';
