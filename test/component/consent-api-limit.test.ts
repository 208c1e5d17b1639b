import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import type { AuditLog } from '../../src/audit';
import { loadConfig } from '../../src/config';
import { consentApiRouter } from '../../src/http/consent-api';
import { createLogger } from '../../src/logging';
import { MemoryCounterStore, RateLimiter } from '../../src/ratelimit';
import { makeTestKeys, testEnv } from '../helpers/env';

/**
 * The consent API's per-address limit lives in the rate limiter's shared counters (as the token
 * API's does): two instances sharing one store refuse together once the address used the minute's
 * allowance across both. (The request is refused before the key is checked, so no database here.)
 */
const keys = makeTestKeys();
const config = loadConfig(testEnv(keys), { devSecretsDir: keys.dir });
const logger = createLogger({ level: 'error', format: 'json', sink: () => undefined });
const store = new MemoryCounterStore();
const limiter = new RateLimiter({ store, limits: config.rateLimits, logger });
const servers: Server[] = [];

async function instance(): Promise<string> {
  const app = express();
  app.use(
    consentApiRouter({
      knex: {} as Knex,
      audit: {} as AuditLog,
      logger,
      apiKey: 'k'.repeat(40),
      subjectHashKey: 's'.repeat(40),
      purposes: new Set(['marketing']),
      limit: { perMinute: 3, rateLimiter: limiter },
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await limiter.close();
  keys.cleanup();
});

describe('when one address calls POST /api/consents/withdraw on two instances sharing the counters', () => {
  it('then the shared per-minute limit holds across both: 429 on either after it is used up', async () => {
    const [a, b] = [await instance(), await instance()];
    const post = (base: string) =>
      fetch(`${base}/api/consents/withdraw`, {
        method: 'POST',
        headers: { authorization: 'Bearer wrong' },
        body: '{}',
      });
    expect((await post(a)).status).toBe(401);
    expect((await post(b)).status).toBe(401);
    expect((await post(a)).status).toBe(401);
    for (const base of [b, a]) {
      const refused = await post(base);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        error: 'too many requests to the consent API from this address; see Retry-After',
      });
    }
  });
});
