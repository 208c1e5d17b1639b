import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { loadConfig } from '../../src/config';
import type { FlowDefinition } from '../../src/flow-api';
import { createLogger } from '../../src/logging';
import { createService, type Service, type ServiceOptions } from '../../src/service';
import { makeTestKeys, testEnv, type TestKeys } from './env';
import { migratedPgliteDir } from './pglite-template';
import { WhatsAppClient } from './whatsapp-client';

export interface TestService {
  readonly service: Service;
  readonly baseUrl: string;
  readonly keys: TestKeys;
  readonly env: Record<string, string | undefined>;
  /** Every log line the service wrote, formatted as it would be in production. */
  readonly logs: string[];
  client(
    flowId?: string,
    options?: {
      signed?: boolean;
      version?: string;
      tokenSignature?: boolean | ((flowToken: string) => string | undefined);
    },
  ): WhatsAppClient;
  issueToken(phone?: string, flowId?: string, ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the real service on a loopback port with fresh keys, secrets and database. */
export async function startTestService(
  options: {
    env?: Record<string, string | undefined>;
    flows?: readonly FlowDefinition[];
    /** Encrypt the generated private key with this passphrase (and configure it). */
    passphrase?: string;
  } & Omit<ServiceOptions, 'logger' | 'flows'> = {},
): Promise<TestService> {
  const keys = makeTestKeys(options.passphrase);
  const env = testEnv(keys, {
    ...(options.passphrase === undefined ? {} : { FLOWS_PRIVATE_KEY_PASSPHRASE: options.passphrase }),
    ...options.env,
  });
  // The embedded database "in memory" is served from a migrated copy on disk (test/helpers/pglite-template.ts):
  // as fresh and private, without initdb and the migrations each time. `env` keeps saying memory://.
  const copy = !env.DATABASE_URL && env.PGLITE_DATA_DIR === 'memory://' ? await migratedPgliteDir() : undefined;
  const config = loadConfig(copy ? { ...env, PGLITE_DATA_DIR: copy.dataDir } : env, { devSecretsDir: keys.dir });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const service = await createService(config, { ...options, logger, flows: options.flows }).catch((err: unknown) => {
    copy?.remove();
    throw err;
  });
  const server: Server = await new Promise((resolve) => {
    const s = createServer(service.handler).listen(0, '127.0.0.1', () => resolve(s));
    // As in src/main.ts: idle keep-alive sockets outlive the client's, so a client never reuses a
    // socket the server is closing at that moment (ECONNRESET on a loaded machine).
    s.keepAliveTimeout = 65_000;
    s.headersTimeout = 66_000;
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const defaultFlow = [...service.registry.keys()][0] ?? 'book-appointment';
  return {
    service,
    baseUrl,
    keys,
    env,
    logs,
    client: (flowId = defaultFlow, clientOptions = {}) =>
      new WhatsAppClient({
        baseUrl,
        flowId,
        publicKeyPem: keys.publicKeyPem,
        appSecret: clientOptions.signed === false ? undefined : env.META_APP_SECRET,
        version: clientOptions.version,
        tokenSignature: clientOptions.tokenSignature,
      }),
    issueToken: async (phone = '+14155550100', flowId = defaultFlow, ttlSeconds) =>
      (await service.tokens.issue({ flowId, phone, ttlSeconds }, { via: 'api' })).token,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (service.database.kind === 'postgres') {
        await service.audit.flush();
        await service.database.knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [service.database.schema]);
      }
      await service.close();
      copy?.remove();
      keys.cleanup();
    },
  };
}
