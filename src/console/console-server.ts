import { createServer, type Server } from 'node:http';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { AtRestCipher } from '../crypto';
import type { Logger } from '../logging';
import { consoleApp } from './console-app';
import { ConsoleAudit } from './console-audit';
import { ConsoleDb } from './console-db';
import type { SessionStore } from './sessions';

export interface ConsoleServer {
  readonly server: Server;
  readonly port: number;
  /** Stops listening and closes the console's own database pool. */
  close(): Promise<void>;
}

/**
 * Starts the compliance console on CONSOLE_PORT (on HOST). Runs in one process: the single
 * process, or the cluster primary (which serves no flow requests).
 */
export async function startConsole(options: {
  config: Config;
  logger: Logger;
  /** The service's knex, required with PGlite (its one connection is shared). */
  shared?: Knex;
  port?: number;
  sessions?: SessionStore;
  signInAttempts?: number;
}): Promise<ConsoleServer> {
  const { config, logger } = options;
  const port = options.port ?? config.console.port;
  if (port === undefined) throw new Error('internal: startConsole without CONSOLE_PORT');
  if (!config.database.url && !options.shared)
    throw new Error('internal: the console on PGlite needs the service knex');
  const db = ConsoleDb.open({
    database: config.database,
    consoleUrl: config.console.databaseUrl,
    shared: options.shared as Knex,
  });
  const app = consoleApp({
    db,
    audit: new ConsoleAudit(config.audit.chains),
    cipher: new AtRestCipher(config.submissionKeys),
    subjectHashKey: config.subjectHashKey.reveal(),
    retentionDays: config.submissionRetentionDays,
    logger,
    trustProxy: config.trustProxy,
    production: config.nodeEnv === 'production',
    sessions: options.sessions,
    signInAttempts: options.signInAttempts,
  });
  const server = createServer(app);
  server.requestTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.host, () => resolve());
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  server.once('close', () => void db.close());
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.close();
    },
  };
}
