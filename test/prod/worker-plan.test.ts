import { Secret } from '../../src/config/secret';
import { workerPlan } from '../../src/lifecycle';

const pglite = { url: undefined, schema: 'public', poolMax: 10, pgliteDataDir: 'memory://' };
const postgres = { ...pglite, url: new Secret('postgres://x@127.0.0.1/db') };

describe('when the number of workers is decided', () => {
  it('then PGlite always gets one, and the log says why', () => {
    expect(workerPlan({ database: pglite, webConcurrency: undefined }, 8)).toEqual({
      workers: 1,
      reason: 'PGlite is single-process: running 1 worker (set DATABASE_URL for one per core)',
    });
    const forced = workerPlan({ database: pglite, webConcurrency: 4 }, 8);
    expect(forced.workers).toBe(1);
    expect(forced.reason).toMatch(/although WEB_CONCURRENCY=4/);
  });

  it('then PostgreSQL gets one per core unless WEB_CONCURRENCY says otherwise', () => {
    expect(workerPlan({ database: postgres, webConcurrency: undefined }, 8).workers).toBe(8);
    expect(workerPlan({ database: postgres, webConcurrency: 3 }, 8)).toEqual({
      workers: 3,
      reason: 'WEB_CONCURRENCY=3',
    });
    expect(workerPlan({ database: postgres, webConcurrency: 1 }, 8).workers).toBe(1);
  });
});
