import { FlowgateMetrics, Registry, renderMerged } from '../../src/metrics';

describe('when metrics are rendered in the Prometheus text format', () => {
  it('then counters, gauges and cumulative histogram buckets come out with HELP and TYPE', () => {
    const r = new Registry();
    const c = r.counter('t_requests_total', 'Requests.', ['flow', 'status']);
    const g = r.gauge('t_workers', 'Workers.');
    const h = r.histogram('t_latency_seconds', 'Latency.', ['flow'], [0.1, 1]);
    c.inc({ flow: 'a', status: 200 });
    c.inc({ flow: 'a', status: 200 }, 2);
    g.set({}, 2);
    h.observe({ flow: 'a' }, 0.05);
    h.observe({ flow: 'a' }, 0.5);
    h.observe({ flow: 'a' }, 5);
    expect(r.render()).toBe(
      [
        '# HELP t_requests_total Requests.',
        '# TYPE t_requests_total counter',
        't_requests_total{flow="a",status="200"} 3',
        '# HELP t_workers Workers.',
        '# TYPE t_workers gauge',
        't_workers 2',
        '# HELP t_latency_seconds Latency.',
        '# TYPE t_latency_seconds histogram',
        't_latency_seconds_bucket{flow="a",le="0.1"} 1',
        't_latency_seconds_bucket{flow="a",le="1"} 2',
        't_latency_seconds_bucket{flow="a",le="+Inf"} 3',
        't_latency_seconds_sum{flow="a"} 5.55',
        't_latency_seconds_count{flow="a"} 3',
        '',
      ].join('\n'),
    );
  });

  it('then label values are escaped and unknown labels are refused', () => {
    const r = new Registry();
    const c = r.counter('t_total', 'T.', ['screen']);
    c.inc({ screen: 'a"b\\c\nd' });
    expect(r.render()).toContain('t_total{screen="a\\"b\\\\c\\nd"} 1');
    expect(() => c.inc({ other: 'x' })).toThrow(/no label other/);
    expect(() => r.counter('t_total', 'again')).toThrow(/twice/);
  });

  it('then snapshots of several workers merge into sums (as the cluster primary serves them)', () => {
    const a = new FlowgateMetrics();
    const b = new FlowgateMetrics();
    a.workerSlot = '0';
    b.workerSlot = '1';
    const o = {
      flowId: 'f',
      screen: 'S',
      action: 'data_exchange',
      outcome: 'next',
      status: 200,
      durationMs: 20,
      errorCode: undefined,
      remoteAddress: '10.0.0.1',
    };
    a.observe(o);
    b.observe(o);
    b.observe({ ...o, outcome: 'cannot_decrypt', status: 421, errorCode: 'cannot_decrypt' });
    a.auditBatch(3);
    // Snapshots cross a process boundary as JSON.
    const text = renderMerged([JSON.parse(JSON.stringify(a.snapshot())), JSON.parse(JSON.stringify(b.snapshot()))]);
    expect(text).toContain('flowgate_requests_total{flow="f",screen="S",outcome="next",status="200"} 2');
    expect(text).toContain('flowgate_decrypt_failures_total{flow="f"} 1');
    expect(text).toContain('flowgate_request_duration_seconds_count{flow="f",status="200"} 2');
    expect(text).toContain('flowgate_worker_requests_total{worker="0"} 1');
    expect(text).toContain('flowgate_worker_requests_total{worker="1"} 2');
    expect(text).toContain('flowgate_audit_batch_size_bucket{le="4"} 1');
    expect(text).not.toContain('10.0.0.1');
  });
});

describe('when workers report a flow alert state every one of them reads from the database', () => {
  it('then the cluster view is the state, not the sum of the workers', () => {
    const workers = [new FlowgateMetrics(), new FlowgateMetrics(), new FlowgateMetrics()];
    for (const w of workers) {
      w.webhook.alertActive.set({ flow: 'f', kind: 'endpoint_latency' }, 1);
      w.webhook.flowStatus.set({ flow: 'f', status: 'THROTTLED' }, 1);
    }
    workers[0]?.webhook.alerts.inc({ flow: 'f', kind: 'endpoint_latency', state: 'ACTIVATED' });
    workers[1]?.webhook.alerts.inc({ flow: 'f', kind: 'endpoint_latency', state: 'ACTIVATED' });
    const text = renderMerged(
      workers.map((w) => JSON.parse(JSON.stringify(w.snapshot())) as ReturnType<typeof w.snapshot>),
    );
    expect(text).toContain('flowgate_flow_alert_active{flow="f",kind="endpoint_latency"} 1');
    expect(text).toContain('flowgate_flow_status{flow="f",status="THROTTLED"} 1');
    // Counters still add up across workers.
    expect(text).toContain('flowgate_flow_alerts_total{flow="f",kind="endpoint_latency",state="ACTIVATED"} 2');
  });
});
