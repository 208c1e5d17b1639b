import fc from 'fast-check';
import { slidingCount, slidingFreeAt } from '../../src/ratelimit';

/**
 * The sliding-window estimate (src/ratelimit/sliding-window.ts) on its own, against a simulated
 * store: per-window counters, every request counted (as the token API counts them), a request let
 * through while the estimate including it is within the limit.
 */
const W = 60_000;

function simulate(limit: number, times: readonly number[]): number[] {
  const counts = new Map<number, number>();
  const admitted: number[] = [];
  for (const at of [...times].sort((a, b) => a - b)) {
    const index = Math.floor(at / W);
    const count = (counts.get(index) ?? 0) + 1;
    counts.set(index, count);
    const c = { count, previous: counts.get(index - 1) ?? 0, resetAt: (index + 1) * W };
    if (slidingCount(c, W, at) <= limit) admitted.push(at);
  }
  return admitted;
}

describe('when requests arrive at any times', () => {
  it('then no stretch shorter than a window lets through more than the limit plus its share of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 4 * W }), { maxLength: 200 }),
        (limit, times) => {
          const admitted = simulate(limit, times);
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length && admitted[j] - admitted[i] < W; j++) {
              const stretch = admitted[j] - admitted[i];
              expect(j - i + 1).toBeLessThanOrEqual(Math.floor(limit + (limit * stretch) / W + 1e-9));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('then a full burst at :59 and another at :00 get the limit through once, not twice', () => {
    const limit = 30;
    const burst = (at: number) => Array.from({ length: limit }, () => at);
    expect(simulate(limit, [...burst(W - 500), ...burst(W + 500)])).toHaveLength(limit);
  });

  it('then the time it names as free is the first at which one more request is let through', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: W - 1 }),
        (limit, previous, count, offset) => {
          const c = { count, previous, resetAt: W * 11 };
          const at = W * 10 + offset;
          const free = slidingFreeAt(c, W, limit, at);
          expect(free).toBeGreaterThanOrEqual(at);
          // At `free`, with nothing else counted, one more request is within the limit…
          const later =
            free < c.resetAt ? { ...c, count: c.count + 1 } : { count: 1, previous: c.count, resetAt: c.resetAt + W };
          expect(slidingCount(later, W, free)).toBeLessThanOrEqual(limit);
          // …and a millisecond earlier (when that is still in the future) it was not.
          if (free - 1 > at && free - 1 < c.resetAt) {
            expect(slidingCount({ ...c, count: c.count + 1 }, W, free - 1)).toBeGreaterThan(limit);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
