import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logging';
import { createService } from '../../src/service';
import { makeTestKeys, testEnv } from '../helpers/env';
import { freePort } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';

describe('when the database answers', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('then /readyz is 200 and /healthz is 200', async () => {
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });

  it('then once shutdown began /readyz is 503 while /healthz stays 200', async () => {
    t.service.markDraining();
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'shutting down' });
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('when DATABASE_URL points at a port where nothing listens', () => {
  it('then /readyz is 503 within about a second and /healthz stays 200', async () => {
    const keys = makeTestKeys();
    const port = await freePort();
    // No migration and no audit chain set-up: nothing at start needs the database, as after an outage.
    const env = testEnv(keys, {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing`,
      DATABASE_SCHEMA: 'public',
      AUDIT_ENABLED: 'false',
    });
    const config = loadConfig(env, { devSecretsDir: keys.dir });
    const logger = createLogger({ level: 'error', format: 'json', silent: true });
    const service = await createService(config, { logger, migrate: false });
    const server: Server = await new Promise((resolve) => {
      const s = createServer(service.handler).listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const started = Date.now();
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'database unreachable' });
      expect(Date.now() - started).toBeLessThan(2500);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
      keys.cleanup();
    }
  });
});
