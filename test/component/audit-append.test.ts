import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The batched audit writer (`AuditLog.append`) resolves every caller after its event commits —
 * including a caller that appends right after an earlier append resolved, in the same tick.
 */

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('when events are appended one after another with await', () => {
  it('then each append resolves on its own, without waiting for a later append', async () => {
    // A plain `await` in a loop: the next append starts in the microtask right after the previous
    // one resolved. Guarded by a timer so a lost wake-up fails the test instead of hanging it.
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        await t.service.audit.append({ occurredAt: new Date(), kind: 'request', outcome: `e${i}` });
      }
    };
    expect(await within(loop(), 5000)).toBeUndefined();
    const rows = await t.service.database.knex('audit_events').whereIn('outcome', ['e0', 'e9']).count({ n: '*' });
    expect(Number(rows[0]?.n)).toBe(2);
  });

  it('then concurrent appends are all written', async () => {
    const all = Array.from({ length: 50 }, (_, i) =>
      t.service.audit.append({ occurredAt: new Date(), kind: 'request', outcome: `c${i}` }),
    );
    expect(await within(Promise.all(all), 5000)).not.toBe('timed out');
    const rows = await t.service.database.knex('audit_events').where('outcome', 'like', 'c%').count({ n: '*' });
    expect(Number(rows[0]?.n)).toBe(50);
  });
});
