import type { AuditEvent } from '../../src/audit';
import { createLogger } from '../../src/logging';
import { RefusalAudit } from '../../src/ratelimit';

function setup(append?: (e: AuditEvent) => Promise<void>, intervalMs = 60_000) {
  const events: AuditEvent[] = [];
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  const audit = new RefusalAudit(
    append ??
      (async (e) => {
        events.push(e);
      }),
    logger,
    intervalMs,
  );
  return { audit, events, lines };
}

describe('when the edge refuses requests', () => {
  it('then one event per layer counts them, their distinct addresses and the time span, and names no address', async () => {
    const { audit, events } = setup();
    const t0 = new Date('2026-11-29T10:00:00.000Z');
    const t1 = new Date('2026-11-29T10:00:04.500Z');
    audit.record('global', '203.0.113.7', t0);
    audit.record('global', '203.0.113.7', t0);
    audit.record('global', '198.51.100.2', t1);
    audit.record('failed_per_ip', undefined, t1);
    await audit.flush();
    expect(events).toHaveLength(2);
    const global = events.find((e) => e.detail?.layer === 'global');
    expect(global).toMatchObject({
      kind: 'request',
      outcome: 'rate_limited',
      httpStatus: 429,
      occurredAt: t1,
      detail: { refused: 3, addresses: 2, first_at: t0.toISOString(), last_at: t1.toISOString() },
    });
    expect(events.find((e) => e.detail?.layer === 'failed_per_ip')?.detail).toMatchObject({ refused: 1, addresses: 1 });
    expect(JSON.stringify(events)).not.toMatch(/203\.0\.113\.7|198\.51\.100\.2/);
  });

  it('then a flush with nothing counted writes nothing, and counting starts afresh after a flush', async () => {
    const { audit, events } = setup();
    await audit.flush();
    expect(events).toHaveLength(0);
    audit.record('global', 'a');
    await audit.flush();
    audit.record('global', 'b');
    await audit.flush();
    expect(events.map((e) => e.detail?.refused)).toEqual([1, 1]);
  });

  it('then the summary is written by itself once the interval has passed, not before', async () => {
    jest.useFakeTimers();
    try {
      const { audit, events } = setup(undefined, 30);
      audit.record('global', 'a');
      audit.record('global', 'b');
      await jest.advanceTimersByTimeAsync(29);
      expect(events).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(events.map((e) => e.detail?.refused)).toEqual([2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('then a flood from many addresses keeps a bounded set and says the count is capped', async () => {
    const { audit, events } = setup();
    for (let i = 0; i < 12_000; i++) audit.record('global', `10.0.${i >> 8}.${i & 255}:${i}`);
    await audit.flush();
    expect(events[0]?.detail).toMatchObject({ refused: 12_000, addresses: 10_000, addresses_capped: true });
  });

  it('then a summary the database refuses is logged (without its content) and does not throw', async () => {
    const { audit, lines } = setup(() => Promise.reject(new Error('database says no to 203.0.113.7')));
    audit.record('failed_per_ip', '203.0.113.7');
    await expect(audit.flush()).resolves.toBeUndefined();
    expect(lines.join('\n')).toContain('rate-limit refusal summaries not audited');
    expect(lines.join('\n')).not.toContain('203.0.113.7');
  });
});
