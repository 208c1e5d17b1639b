import { MemoryCounterStore, SharedWindowCounter, type CounterStore } from '../../src/ratelimit';

/**
 * The global ceiling's counter: decided in the process, shared through the store in the
 * background. Two counters on one store play two workers. Times are explicit (a window a few
 * seconds ahead of now, so the memory store never sweeps it); syncs are forced with flush().
 */
const WINDOW = 1000;
const windowStart = (): number => (Math.floor(Date.now() / WINDOW) + 5) * WINDOW;

/** The store's count for a key in the window containing `at`, without adding to it. */
async function stored(store: CounterStore, key: string, at: number): Promise<number> {
  return (await store.hit(key, WINDOW, 0, at)).count;
}

describe('when one process counts against the ceiling', () => {
  it('then it admits exactly the limit in a window, without waiting on the store, and counts refusals too', async () => {
    const store = new MemoryCounterStore();
    const counter = new SharedWindowCounter(store, 'g', WINDOW, 60_000);
    const t = windowStart();
    const answers = Array.from({ length: 8 }, (_, i) => counter.take(5, t + i));
    expect(answers).toEqual([true, true, true, true, true, false, false, false]);
    expect(await stored(store, 'g', t)).toBe(0); // nothing shared yet: the decision was local
    await counter.flush();
    expect(await stored(store, 'g', t)).toBe(8);
  });

  it('then a new window starts from zero', () => {
    const counter = new SharedWindowCounter(new MemoryCounterStore(), 'g', WINDOW, 60_000);
    const t = windowStart();
    expect(counter.take(1, t)).toBe(true);
    expect(counter.take(1, t + 10)).toBe(false);
    expect(counter.take(1, t + WINDOW)).toBe(true);
  });

  it('then it shares its hits by itself within the sync interval', async () => {
    jest.useFakeTimers({ now: Date.now() });
    try {
      const store = new MemoryCounterStore();
      const counter = new SharedWindowCounter(store, 'g', WINDOW, 10);
      const now = Date.now();
      counter.take(100, now);
      counter.take(100, now);
      await jest.advanceTimersByTimeAsync(9);
      expect(await stored(store, 'g', now)).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(await stored(store, 'g', now)).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('when two processes share the store', () => {
  it('then each learns the other’s hits at its next sync and refuses past the shared limit', async () => {
    const store = new MemoryCounterStore();
    const a = new SharedWindowCounter(store, 'g', WINDOW, 60_000);
    const b = new SharedWindowCounter(store, 'g', WINDOW, 60_000);
    const t = windowStart();
    // Between syncs each decides alone: 3 + 3 against a limit of 5 (the documented overshoot).
    for (let i = 0; i < 3; i++) expect(a.take(5, t)).toBe(true);
    for (let i = 0; i < 3; i++) expect(b.take(5, t)).toBe(true);
    await a.flush();
    await b.flush();
    expect(await stored(store, 'g', t)).toBe(6);
    expect(b.take(5, t)).toBe(false); // b's sync returned 6
    a.take(5, t); // a last saw 3: this one may pass, and its sync brings the news
    await a.flush();
    expect(a.take(5, t)).toBe(false);
  });
});

describe('when the store fails', () => {
  it('then the ceiling still holds in this process, and a failed sync never lowers the count', async () => {
    const failing: CounterStore = {
      kind: 'redis',
      hit: () => Promise.reject(new Error('down')),
      close: async () => undefined,
    };
    const counter = new SharedWindowCounter(failing, 'g', WINDOW, 60_000);
    const t = windowStart();
    expect(counter.take(2, t)).toBe(true);
    expect(counter.take(2, t)).toBe(true);
    await counter.flush();
    expect(counter.take(2, t)).toBe(false);
  });
});
