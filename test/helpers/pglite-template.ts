import { createHash, randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { paths, projectRoot } from '../../src/paths';
import { openDatabase } from '../../src/storage';
import { makeTestKeys, testEnv } from './env';

/**
 * Why: a new embedded database runs PostgreSQL's initdb inside WebAssembly, then every migration;
 * that was most of a service suite's start-up (and under load it outlasted the 15 s connection
 * wait). Each test instead gets its own copy of one folder made that way once: starting from a
 * copy skips initdb, and the migrations find nothing to do. The copy is a real data folder opened
 * by the service's own openDatabase, so the tests still exercise what production code does.
 *
 * The template is kept in the system's temporary folder, named after what makes it (the PGlite
 * version and the migrations' names and text): a changed migration makes a new one, so a copy is
 * never behind the code. Concurrent workers may both make it; the rename keeps one.
 */
let template: Promise<string> | undefined;

function templateKey(): string {
  const hash = createHash('sha256');
  const pglite = join(projectRoot(), 'node_modules', '@electric-sql', 'pglite', 'package.json');
  hash.update((JSON.parse(readFileSync(pglite, 'utf8')) as { version: string }).version);
  for (const name of readdirSync(paths.migrations).sort()) {
    hash.update(`\0${name}\0`).update(readFileSync(join(paths.migrations, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

async function makeTemplate(): Promise<string> {
  const dir = join(tmpdir(), `flowgate-pglite-template-${templateKey()}`);
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  const work = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const keys = makeTestKeys();
  try {
    // initdb first, without the service's 15 s connection wait: on a loaded machine it takes longer.
    const fresh = new PGlite(work);
    await fresh.waitReady;
    await fresh.close();
    const config = loadConfig(testEnv(keys, { DATABASE_URL: undefined, PGLITE_DATA_DIR: work }), {
      devSecretsDir: keys.dir,
    });
    const db = await openDatabase(config.database, { migrate: true });
    await db.close();
    try {
      renameSync(work, dir);
    } catch (err) {
      // Another worker finished first: its template is as good as ours.
      if (!existsSync(join(dir, 'PG_VERSION'))) throw err;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    keys.cleanup();
  }
  return dir;
}

/** The template's folder, made first if missing (jest's global setup does it before any test). */
export function pgliteTemplate(): Promise<string> {
  template ??= makeTemplate();
  return template;
}

/** Fills `dataDir` (which must not exist yet) with a fresh, migrated embedded database. */
export async function copyMigratedPglite(dataDir: string): Promise<void> {
  cpSync(await pgliteTemplate(), dataDir, { recursive: true, errorOnExist: true, force: false });
}

/**
 * A fresh, migrated embedded database folder of its own, in a new temporary folder; `remove`
 * deletes both (after the database is closed).
 */
export async function migratedPgliteDir(): Promise<{ dataDir: string; remove(): void }> {
  const parent = mkdtempSync(join(tmpdir(), 'flowgate-db-'));
  const dataDir = join(parent, 'pglite');
  const remove = () => rmSync(parent, { recursive: true, force: true });
  try {
    await copyMigratedPglite(dataDir);
  } catch (err) {
    remove();
    throw err;
  }
  return { dataDir, remove };
}
