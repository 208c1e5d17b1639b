import { createServer, type Server, type Socket } from 'node:net';
import { loadConfig, type Config } from '../../src/config';
import { PostgresCounterStore, RedisCounterStore } from '../../src/ratelimit';
import { migrateLatest, migrateRollback, openDatabase, type Database } from '../../src/storage';
import { makeTestKeys, testEnv, type TestKeys } from '../helpers/env';

describe('when the rate_limit_counters migration runs', () => {
  let keys: TestKeys;
  let db: Database;
  let config: Config;
  beforeAll(async () => {
    keys = makeTestKeys();
    config = loadConfig(testEnv(keys), { devSecretsDir: keys.dir });
    db = await openDatabase(config.database, { migrate: true });
  });
  afterAll(async () => {
    if (db.kind === 'postgres') await db.knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [db.schema]);
    await db.close();
    keys.cleanup();
  });

  it('then the table is UNLOGGED on PostgreSQL, and it rolls back and forward again', async () => {
    const rel = await db.knex.raw<{ rows: { relpersistence: string }[] }>(
      `SELECT relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relname = 'rate_limit_counters' AND n.nspname = ?`,
      [db.schema],
    );
    expect(rel.rows[0]?.relpersistence).toBe('u');
    await migrateRollback(db, true);
    expect(await db.knex.schema.hasTable('rate_limit_counters')).toBe(false);
    await migrateLatest(db);
    expect(await db.knex.schema.hasTable('rate_limit_counters')).toBe(true);
    // The per-token counter lives in the session row (migration 20261129000007).
    expect(await db.knex.schema.hasColumn('flow_sessions', 'rate_window')).toBe(true);
    expect(await db.knex.schema.hasColumn('flow_sessions', 'rate_count')).toBe(true);
  });

  it('then hits sent in bulk add their amounts, in the window they happened in', async () => {
    const store = new PostgresCounterStore(db.knex);
    const lastWindow = Date.now() - 60_000;
    const counts = await Promise.all([
      store.hit('bulk', 60_000, 5, lastWindow),
      store.hit('bulk', 60_000, 3, lastWindow),
    ]);
    // Whichever lands first sees its own amount; the other sees both.
    const [first, second] = counts.map((c) => c.count).sort((x, y) => x - y);
    expect([3, 5]).toContain(first);
    expect(second).toBe(8);
    expect((await store.hit('bulk', 60_000, 0, lastWindow)).count).toBe(8);
    expect((await store.hit('bulk', 60_000)).count).toBe(1); // this window is another counter
  });

  it('then two pools (two workers) count into the same row, atomically', async () => {
    // PGlite is one process with one connection; with PostgreSQL, a second pool as a second worker has.
    const other = db.kind === 'postgres' ? await openDatabase(config.database) : undefined;
    const a = new PostgresCounterStore(db.knex);
    const b = new PostgresCounterStore(other?.knex ?? db.knex);
    try {
      const counts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit('shared-key', 60_000).then((r) => r.count)),
      );
      expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await other?.close();
    }
  });
});

describe('when Redis accepts a connection but never answers', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('then a hit gives up after its timeout instead of hanging the request', async () => {
    const store = new RedisCounterStore(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 100 });
    const started = Date.now();
    await expect(store.hit('x', 60_000)).rejects.toThrow(/no reply within 100 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
    await store.close();
  });

  it('then a connection silent for several timeouts is dropped and another one is tried', async () => {
    const store = new RedisCounterStore(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 50, retryAfterMs: 10 });
    const before = sockets.length;
    await expect(store.hit('x', 60_000)).rejects.toThrow(/no reply within 50 ms/);
    // The first connection is dropped after 4 × 50 ms of silence; the next attempt opens a new one.
    await new Promise<void>((resolve) => server.once('connection', () => resolve()));
    expect(sockets.length).toBeGreaterThanOrEqual(before + 2);
    await store.close();
  });
});
