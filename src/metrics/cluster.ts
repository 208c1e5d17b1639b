import { AggregatorRegistry, Registry, type Counter } from 'prom-client';
import { workerRestartsCounter } from './flowgate-metrics';

/**
 * The cluster primary's metrics: it serves no requests, so its view is every worker's registries
 * as prom-client's AggregatorRegistry collects them over the cluster's IPC channel and adds them up
 * (series by series; gauges marked `max` take the largest), followed by what only the primary
 * knows, the restart count. The two sets of names are disjoint (workers do not register the
 * restart counter), so the concatenation is one valid exposition.
 *
 * prom-client asks every connected worker and waits at most 5 s for all of them; a worker that
 * does not answer (hung, or still loading its code right after a restart) fails that scrape, and
 * the metrics endpoint says so with a 503 (src/metrics/metrics-router.ts) rather than showing a
 * partial sum.
 */
export class ClusterMetrics {
  readonly #aggregator = new AggregatorRegistry();
  readonly #own = new Registry();
  readonly workerRestarts: Counter = workerRestartsCounter(this.#own);

  async render(): Promise<string> {
    const [workers, own] = await Promise.all([this.#aggregator.clusterMetrics(), this.#own.metrics()]);
    return workers === '' ? own : `${workers}\n${own}`;
  }
}

/**
 * In a cluster worker: answer the primary's collection requests. Called first thing, before the
 * service exists (a starting worker then answers with nothing rather than not at all), and again
 * with the service's registries once they exist.
 */
export function answerClusterCollection(registries: readonly Registry[] = []): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([...registries]);
}
