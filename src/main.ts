import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config';
import { PrivateKeyError } from './crypto';
import { RegistrationError } from './flows';
import { createService, type Service } from './service';

/**
 * The only caller of listen(): config → keys → registrations → database → app → lifecycle.
 * Start-up problems (bad config, key, registration, database) print one clear message and exit 1.
 */
async function main(): Promise<void> {
  let service: Service;
  try {
    const config = loadConfig();
    service = await createService(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PrivateKeyError || err instanceof RegistrationError) {
      process.stderr.write(`flowgate cannot start: ${err.message}\n`);
    } else {
      process.stderr.write(`flowgate cannot start: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(1);
  }
  const { config, logger } = service;
  const server: Server = service.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(`flowgate listening on http://${config.host}:${port}`, {
      flows: [...service.registry.keys()].map((id) => `/flows/${id}`),
      database: service.database.kind,
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 15_000;

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing in-flight requests`);
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    server.close(async () => {
      await service.close().catch((error: unknown) => logger.error('shutdown', { error }));
      clearTimeout(force);
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
