import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * This process's own metrics, in a registry of their own: prom-client's default set under its
 * standard names (`process_*`, `nodejs_*`: CPU, resident memory, heap and heap spaces, event-loop
 * lag, GC durations, handles, file descriptors, version), which Node.js dashboards expect as they
 * are, plus our two per-worker gauges the README has always listed. Every series carries the
 * process's `worker` slot, so the cluster primary's sum keeps one series per worker instead of
 * adding workers' heaps or averaging their lags.
 *
 * Created once per process (the first caller's slot labels it): the collectors are process-wide
 * (a GC observer, event-loop monitors) and would pile up if every service made its own.
 */
export function processMetrics(workerSlot: string): Registry {
  if (processRegistry) return processRegistry;
  const registry = new Registry();
  const worker = { worker: workerSlot };
  collectDefaultMetrics({ register: registry, labels: worker });

  // Sampled between scrapes and reset at each, so a scrape shows the worst since the one before.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  new Gauge({
    name: 'flowgate_event_loop_delay_p99_seconds',
    help: '99th percentile of event-loop delay since the previous scrape, per worker (RSA and JSON work run on the loop).',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.set(worker, loopDelay.percentile(99) / 1e9);
      loopDelay.reset();
    },
  });
  new Gauge({
    name: 'flowgate_process_resident_memory_bytes',
    help: 'Resident memory per worker.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.set(worker, process.memoryUsage.rss());
    },
  });
  processRegistry = registry;
  return registry;
}
