import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '../../src/config';
import type { FlowDefinition } from '../../src/flow-api';
import { createLogger } from '../../src/logging';
import { createService, type Service } from '../../src/service';
import { openDatabase, type Database } from '../../src/storage';
import { builtFile } from './cli';
import { makeTestKeys, testEnv, type TestKeys } from './env';
import { copyMigratedPglite } from './pglite-template';
import { WhatsAppClient } from './whatsapp-client';

const ROOT = join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningService {
  readonly service: Service;
  readonly client: WhatsAppClient;
  /** Requests sent through `client` so far. */
  requests(): number;
  issueToken(phone: string): Promise<{ token: string; id: string }>;
  stop(): Promise<void>;
}

/**
 * One database shared by a running service, the built CLI (spawned as a child process, as
 * `npm run …` runs it) and the test itself. PGlite serves one process, so it lives in a temporary
 * folder and the test stops the service before a CLI or a direct look opens it; on PostgreSQL
 * the database is a private schema, dropped at the end.
 */
export class DbFixture {
  readonly kind: 'pglite' | 'postgres';
  readonly keys: TestKeys;
  readonly env: Record<string, string | undefined>;
  readonly logs: string[] = [];
  readonly cliOutput: string[] = [];
  readonly #dataDir: string | undefined;
  #running: RunningService | undefined;
  #filled: Promise<void> | undefined;

  constructor(overrides: Record<string, string | undefined> = {}) {
    this.keys = makeTestKeys();
    this.kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
    this.#dataDir = this.kind === 'pglite' ? join(mkdtempSync(join(tmpdir(), 'flowgate-db-')), 'pglite') : undefined;
    const database =
      this.kind === 'pglite'
        ? { PGLITE_DATA_DIR: this.#dataDir }
        : { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: `fgt_${randomBytes(6).toString('hex')}` };
    this.env = { ...testEnv(this.keys), ...database, AUDIT_CHAINS: '4', ...overrides };
  }

  get dataDir(): string | undefined {
    return this.#dataDir;
  }

  /**
   * On PGlite, the folder starts as a copy of a migrated database (test/helpers/pglite-template.ts),
   * made before anything opens it: as fresh, without initdb and the migrations each time.
   */
  async #ready(): Promise<void> {
    const dataDir = this.#dataDir;
    if (dataDir) this.#filled ??= copyMigratedPglite(dataDir);
    await this.#filled;
  }

  async startService(options: { flows?: readonly FlowDefinition[]; env?: Record<string, string> } = {}) {
    // A fresh start every time: the options (flows, keyring) may differ from the running one's.
    await this.stopService();
    await this.#ready();
    const config = loadConfig({ ...this.env, ...options.env }, { devSecretsDir: this.keys.dir });
    const logger = createLogger({ level: 'debug', format: 'json', sink: (line) => this.logs.push(line) });
    const service = await createService(config, { logger, flows: options.flows });
    const server: Server = await new Promise((resolve) => {
      const s = createServer(service.handler).listen(0, '127.0.0.1', () => resolve(s));
    });
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new WhatsAppClient({
      baseUrl,
      flowId: [...service.registry.keys()][0] ?? 'book-appointment',
      publicKeyPem: this.keys.publicKeyPem,
      appSecret: this.env.META_APP_SECRET,
    });
    let sent = 0;
    const send = client.send.bind(client);
    client.send = (...args) => {
      sent++;
      return send(...args);
    };
    const running: RunningService = {
      service,
      client,
      requests: () => sent,
      issueToken: async (phone) => {
        const issued = await service.tokens.issue(
          { flowId: client.url.split('/').pop() as string, phone },
          { via: 'api' },
        );
        return { token: issued.token, id: issued.id };
      },
      stop: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await service.close();
        this.#running = undefined;
      },
    };
    this.#running = running;
    return running;
  }

  async stopService(): Promise<void> {
    await this.#running?.stop();
  }

  /** Runs `dist/src/cli/<name>.js` with this fixture's environment (and only it). */
  async cli(
    name: 'submissions' | 'audit' | 'token' | 'migrate' | 'consents',
    args: readonly string[],
    env: Record<string, string | undefined> = {},
  ) {
    if (this.kind === 'pglite') await this.stopService();
    await this.#ready();
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
    // A variable given as undefined in `env` is left out.
    for (const [k, v] of Object.entries({ ...this.env, ...env })) if (v !== undefined) childEnv[k] = v;
    const result = await new Promise<CliResult>((resolve) => {
      execFile(
        process.execPath,
        [builtFile('src', 'cli', `${name}.js`), ...args],
        { cwd: ROOT, env: childEnv, timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
    this.cliOutput.push(result.stdout, result.stderr);
    return result;
  }

  /** A direct connection for looking at (or tampering with) the database; closed after `fn`. */
  async withDb<T>(fn: (knex: Knex, db: Database) => Promise<T>): Promise<T> {
    if (this.kind === 'pglite') await this.stopService();
    await this.#ready();
    const config = loadConfig(this.env, { devSecretsDir: this.keys.dir });
    const db = await openDatabase(config.database);
    try {
      return await fn(db.knex, db);
    } finally {
      await db.close();
    }
  }

  /** Every value in every table of the schema, as text (bytea as hex), one string per row. */
  async dumpAllRows(): Promise<string[]> {
    return this.withDb(async (knex, db) => {
      const tables = (await knex('information_schema.tables')
        .where({ table_schema: db.schema, table_type: 'BASE TABLE' })
        .pluck('table_name')) as string[];
      const rows: string[] = [];
      for (const table of tables) {
        const result = (await knex.raw('SELECT t::text AS row FROM ?? t', [table])) as { rows: { row: string }[] };
        rows.push(...result.rows.map((r) => `${table}: ${r.row}`));
      }
      return rows;
    });
  }

  /** The raw bytes of the embedded database's files (PGlite only): plaintext written anywhere shows here. */
  dataFilesContain(needle: string): boolean {
    if (!this.#dataDir) return false;
    const target = Buffer.from(needle, 'utf8');
    const walk = (dir: string): boolean =>
      readdirSync(dir).some((name) => {
        const path = join(dir, name);
        const stat = statSync(path);
        if (stat.isDirectory()) return walk(path);
        return readFileSync(path).includes(target);
      });
    return walk(this.#dataDir);
  }

  async cleanup(): Promise<void> {
    await this.stopService();
    if (this.kind === 'postgres') {
      await this.withDb((knex, db) => knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [db.schema]));
    } else if (this.#dataDir) {
      rmSync(join(this.#dataDir, '..'), { recursive: true, force: true });
    }
    this.keys.cleanup();
  }
}
