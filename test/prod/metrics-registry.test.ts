import { AggregatorRegistry } from 'prom-client';
import type { RequestObservation } from '../../src/endpoint';
import { FlowgateMetrics } from '../../src/metrics';
import { LabelSets } from '../../src/metrics/label-sets';

const observation: RequestObservation = {
  flowId: 'f',
  screen: 'S',
  action: 'data_exchange',
  outcome: 'next',
  status: 200,
  durationMs: 20,
  errorCode: undefined,
  remoteAddress: '10.0.0.1',
};

/** What a worker sends the primary: its registry as JSON, across a process boundary. */
const overIpc = async (m: FlowgateMetrics): Promise<object[]> =>
  JSON.parse(JSON.stringify(await m.registry.getMetricsAsJSON())) as object[];

/** The primary's sum of several workers, as src/metrics/cluster.ts has prom-client make it. */
const clusterView = async (workers: FlowgateMetrics[]): Promise<string> =>
  AggregatorRegistry.aggregate(await Promise.all(workers.map(overIpc))).metrics();

describe('when a serving process observes requests', () => {
  it('then requests, latency, failures, RSA time and audit batches are counted in the Prometheus text format', async () => {
    const m = new FlowgateMetrics();
    m.observe(observation);
    m.observe(observation);
    m.observe({
      ...observation,
      screen: undefined,
      outcome: 'cannot_decrypt',
      status: 421,
      errorCode: 'cannot_decrypt',
    });
    m.observe({ ...observation, outcome: 'handler_timeout', status: 200 });
    m.rsaDecrypt(0.002);
    m.rsaDecrypt(0.003);
    m.auditBatch(3);
    const text = await m.render();
    expect(text).toContain('# TYPE flowgate_requests_total counter');
    expect(text).toContain('flowgate_requests_total{flow="f",screen="S",outcome="next",status="200"} 2');
    expect(text).toContain('flowgate_requests_total{flow="f",screen="",outcome="cannot_decrypt",status="421"} 1');
    expect(text).toContain('flowgate_decrypt_failures_total{flow="f"} 1');
    expect(text).toContain(
      'flowgate_handler_failures_total{flow="f",screen="S",outcome="handler_timeout",status="200"} 1',
    );
    expect(text).toContain('flowgate_request_duration_seconds_bucket{le="0.025",flow="f",status="200"} 3');
    expect(text).toContain('flowgate_request_duration_seconds_bucket{le="0.01",flow="f",status="200"} 0');
    expect(text).toContain('flowgate_request_duration_seconds_count{flow="f",status="200"} 3');
    expect(text).toContain('flowgate_worker_requests_total{worker="0"} 4');
    expect(text).toContain('flowgate_audit_batch_size_bucket{le="4"} 1');
    expect(text).toContain('flowgate_rsa_decrypts_total 2');
    expect(text).toMatch(/^flowgate_rsa_decrypt_seconds_total 0\.005\d*$/m);
    expect(m.rsaSecondsTotal).toBeCloseTo(0.005, 9);
    // A process serving alone counts restarts itself (none); the primary of a cluster does it there.
    expect(text).toContain('flowgate_worker_restarts_total 0');
    expect(new FlowgateMetrics({ workerSlot: '1' }).workerRestarts).toBeUndefined();
    expect(text).not.toContain('10.0.0.1');
  });

  it('then label values are escaped and a label the metric does not have is refused', async () => {
    const m = new FlowgateMetrics();
    m.observe({ ...observation, screen: 'a"b\\c\nd' });
    expect(await m.render()).toContain(
      'flowgate_requests_total{flow="f",screen="a\\"b\\\\c\\nd",outcome="next",status="200"} 1',
    );
    expect(() => m.rateLimited.inc({ other: 'x' } as never)).toThrow(/not included in initial labelset/);
  });
});

describe('when the cluster primary adds up its workers (prom-client AggregatorRegistry)', () => {
  it('then counters and histograms are summed, and per-worker series stay one per worker', async () => {
    const a = new FlowgateMetrics({ workerSlot: '0' });
    const b = new FlowgateMetrics({ workerSlot: '1' });
    a.observe(observation);
    b.observe(observation);
    b.observe({ ...observation, outcome: 'cannot_decrypt', status: 421, errorCode: 'cannot_decrypt' });
    a.auditBatch(3);
    a.workers.set(1);
    b.workers.set(1);
    const text = await clusterView([a, b]);
    expect(text).toContain('flowgate_requests_total{flow="f",screen="S",outcome="next",status="200"} 2');
    expect(text).toContain('flowgate_decrypt_failures_total{flow="f"} 1');
    expect(text).toContain('flowgate_request_duration_seconds_count{flow="f",status="200"} 2');
    expect(text).toContain('flowgate_request_duration_seconds_bucket{le="0.025",flow="f",status="200"} 2');
    expect(text).toContain('flowgate_worker_requests_total{worker="0"} 1');
    expect(text).toContain('flowgate_worker_requests_total{worker="1"} 2');
    expect(text).toContain('flowgate_audit_batch_size_bucket{le="4"} 1');
    expect(text).toContain('flowgate_workers 2');
    // Workers leave the restart count to the primary, which appends its own.
    expect(text).not.toContain('flowgate_worker_restarts_total');
  });

  it('then a flow alert state every worker reads from the database is the state, not the sum of the workers', async () => {
    const workers = ['0', '1', '2'].map((workerSlot) => new FlowgateMetrics({ workerSlot }));
    for (const w of workers) {
      w.webhook.alertActive.set({ flow: 'f', kind: 'endpoint_latency' }, 1);
      w.webhook.flowStatus.set({ flow: 'f', status: 'THROTTLED' }, 1);
    }
    workers[0]?.webhook.alerts.inc({ flow: 'f', kind: 'endpoint_latency', state: 'ACTIVATED' });
    workers[1]?.webhook.alerts.inc({ flow: 'f', kind: 'endpoint_latency', state: 'ACTIVATED' });
    const text = await clusterView(workers);
    expect(text).toContain('flowgate_flow_alert_active{flow="f",kind="endpoint_latency"} 1');
    expect(text).toContain('flowgate_flow_status{flow="f",status="THROTTLED"} 1');
    // Counters still add up across workers.
    expect(text).toContain('flowgate_flow_alerts_total{flow="f",kind="endpoint_latency",state="ACTIVATED"} 2');
  });
});

describe('when the request path looks up its label objects', () => {
  it('then the same values give the same frozen object, and other values another', () => {
    const sets = new LabelSets('flow', 'screen', 'outcome', 'status');
    const first = sets.of('f', 'S', 'next', 200);
    expect(first).toEqual({ flow: 'f', screen: 'S', outcome: 'next', status: 200 });
    expect(Object.keys(first)).toEqual(['flow', 'screen', 'outcome', 'status']);
    expect(Object.isFrozen(first)).toBe(true);
    expect(sets.of('f', 'S', 'next', 200)).toBe(first);
    expect(sets.of('f', 'S', 'next', 421)).toEqual({ flow: 'f', screen: 'S', outcome: 'next', status: 421 });
    expect(sets.of('f', '', 'next', 200)).not.toBe(first);
    const two = new LabelSets('flow', 'status');
    expect(two.of('f', 200)).toBe(two.of('f', 200));
    expect(two.of('f', 200)).toEqual({ flow: 'f', status: 200 });
    const one = new LabelSets('worker');
    expect(one.of('3')).toEqual({ worker: '3' });
    expect(() => new LabelSets()).toThrow(/one to four/);
  });
});
