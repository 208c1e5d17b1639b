import { AuditLog } from '../audit';
import { loadConfig, type Config } from '../config';
import { AtRestCipher } from '../crypto';
import { buildRegistry, type Registry } from '../endpoint';
import { registeredFlows } from '../flows/registered';
import { createLogger, type Logger } from '../logging';
import { paths } from '../paths';
import { isPermissionDenied, openDatabase, type Database } from '../storage';
import { CommandError } from './cli';
import { FlowTokenCodec, TokenService } from '../tokens';

export interface CliContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly cipher: AtRestCipher;
  readonly codec: FlowTokenCodec;
  readonly tokens: TokenService;
  close(): Promise<void>;
}

/**
 * What a command that touches data needs: the same configuration, keys and database as the
 * service (so a CLI and a running service agree), logs on stderr, database migrated.
 */
export async function openCliContext(env: Record<string, string | undefined> = process.env): Promise<CliContext> {
  const config = loadConfig(env);
  const logger = createLogger({
    level: 'warn',
    format: config.logFormat,
    sink: (line) => process.stderr.write(`${line}\n`),
  });
  const registry = buildRegistry(registeredFlows, { schemaOverridesDir: paths.schemaOverrides });
  const database = await openMigrated(config.database);
  const audit = new AuditLog(database, { ...config.audit, enabled: true }, logger);
  await audit.init();
  const codec = new FlowTokenCodec(config.flowTokens.secrets.map((s) => s.reveal()));
  const tokens = new TokenService({
    knex: database.knex,
    codec,
    audit,
    subjectHashKey: config.subjectHashKey.reveal(),
    defaultTtlSeconds: config.flowTokens.ttlSeconds,
    flowIds: new Set(registry.keys()),
  });
  return {
    config,
    logger,
    database,
    registry,
    audit,
    cipher: new AtRestCipher(config.submissionKeys),
    codec,
    tokens,
    async close() {
      await audit.flush();
      await database.close();
    },
  };
}

/**
 * The database with every migration applied. A login without the right to apply a pending one (a
 * compliance officer's own, after an upgrade), or to use the schema at all, gets a clear error.
 */
async function openMigrated(config: Config['database']): Promise<Database> {
  try {
    return await openDatabase(config, { migrate: true });
  } catch (err) {
    if (isPermissionDenied(err))
      throw new CommandError(
        `this database login may not open or migrate flowgate's schema (${(err as Error).message}); ` +
          "when an upgrade brought migrations, run `npm run migrate` with the service's login first",
      );
    throw err;
  }
}
