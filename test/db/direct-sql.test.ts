import { randomBytes } from 'node:crypto';
import { Secret } from '../../src/config/secret';
import { createLogger } from '../../src/logging';
import { openDatabase, statement, type Database } from '../../src/storage';

/**
 * The request path's transactions (src/storage/direct-sql.ts) on the real driver: PostgreSQL when
 * DATABASE_URL is set, PGlite otherwise. One pooled connection, so every test also proves the
 * connection came back usable.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
let db: Database;

beforeAll(async () => {
  db = await openDatabase(
    {
      url: onPostgres ? new Secret(process.env.DATABASE_URL as string) : undefined,
      schema: `fgt_sql_${randomBytes(5).toString('hex')}`,
      poolMax: 1,
      pgliteDataDir: 'memory://',
    },
    { logger: createLogger({ level: 'error', format: 'json', silent: true }) },
  );
  await db.knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [db.schema]);
  await db.knex.raw('CREATE TABLE items (id int PRIMARY KEY, label text, blob bytea)');
}, 60_000);

afterAll(async () => {
  if (onPostgres) await db.knex.raw('DROP SCHEMA ?? CASCADE', [db.schema]);
  await db.close();
});

const INSERT = statement('test_insert_item', 'INSERT INTO items (id, label, blob) VALUES ($1, $2, $3) RETURNING id');
const SELECT = statement('test_select_item', 'SELECT id, label, blob FROM items WHERE id = $1');
const count = async (): Promise<number> =>
  Number(((await db.knex('items').count({ n: '*' })) as { n: string | number }[])[0]?.n);

beforeEach(async () => {
  await db.knex('items').delete();
});

describe('when a transaction commits', () => {
  it('then its rows are stored, values round-trip, and the same prepared statement serves again', async () => {
    const blob = randomBytes(40);
    const before = db.sql.statementsSent;
    const ids = await db.sql.transaction(async (tx) => {
      const a = await tx.query(INSERT, [1, 'first', blob]);
      const b = await tx.query(INSERT, [2, null, null]);
      return [a[0]?.id, b[0]?.id];
    });
    expect(ids).toEqual([1, 2]);
    // BEGIN, two inserts, COMMIT.
    expect(db.sql.statementsSent - before).toBe(4);
    const [row] = await db.sql.query(SELECT, [1]);
    expect(row?.label).toBe('first');
    expect(Buffer.from(row?.blob as Uint8Array).equals(blob)).toBe(true);
    expect((await db.sql.query(SELECT, [2]))[0]).toMatchObject({ id: 2, label: null, blob: null });
  });
});

describe('when the work fails after writing', () => {
  it('then nothing it wrote stays, the error reaches the caller unchanged, and the connection serves again', async () => {
    const failure = new Error('handler refused');
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query(INSERT, [1, 'doomed', null]);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await count()).toBe(0);
    await db.sql.transaction((tx) => tx.query(INSERT, [1, 'after', null]));
    expect(await count()).toBe(1);
  });
});

describe('when a statement fails inside the transaction', () => {
  it('then the database error keeps its code, earlier writes are rolled back, and the pool recovers', async () => {
    await db.sql.query(INSERT, [7, 'existing', null]);
    const err = (await db.sql
      .transaction(async (tx) => {
        await tx.query(INSERT, [8, 'new', null]);
        await tx.query(INSERT, [7, 'duplicate', null]);
      })
      .catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('23505');
    expect(await count()).toBe(1);
    // A malformed value is refused by the database, not by us, and leaves the connection usable.
    await expect(db.sql.query(SELECT, ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect((await db.sql.query(SELECT, [7]))[0]?.label).toBe('existing');
  });
});

(onPostgres ? describe : describe.skip)('when the work catches a failed statement and carries on', () => {
  it('then the commit, which PostgreSQL turns into a rollback, is reported as a failure', async () => {
    const outcome = await db.sql
      .transaction(async (tx) => {
        await tx.query(INSERT, [1, 'lost with the rollback', null]);
        await tx.query(INSERT, [1, 'duplicate', null]).catch(() => undefined);
        return 'claimed success';
      })
      .catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe('the transaction was rolled back by the database');
    expect(await count()).toBe(0);
  });
});

(onPostgres ? describe : describe.skip)('when the server ends the connection mid-transaction', () => {
  it('then the transaction fails, nothing is stored, and the next one gets a new connection', async () => {
    const err = await db.sql
      .transaction(async (tx) => {
        await tx.query(INSERT, [1, 'lost', null]);
        await tx.query(statement('test_terminate', 'SELECT pg_terminate_backend(pg_backend_pid())'), []);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await count()).toBe(0);
    await db.sql.transaction((tx) => tx.query(INSERT, [2, 'fresh connection', null]));
    expect((await db.sql.query(SELECT, [2]))[0]?.label).toBe('fresh connection');
  });
});
