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
