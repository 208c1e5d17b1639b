import forge from 'node-forge';
import { Redis } from 'ioredis';
import { RedisCounterStore } from '../../src/ratelimit';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * `rediss://`: the Redis store over TLS, against a redis-server of the test's own listening with
 * TLS (a certificate for "localhost", made here with node-forge) and in plain text (to look at
 * what arrived).
 */
function selfSignedLocalhost(): { key: string; cert: string } {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  const subject = [{ name: 'commonName', value: 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) };
}

const available = redisServerAvailable();
const maybe = available ? describe : describe.skip;
if (!available) console.warn('skipped: no redis-server binary here (CI installs it)');

maybe('when REDIS_URL is rediss://', () => {
  let redis: PrivateRedis;
  let plain: Redis;
  let cert: string;
  beforeAll(async () => {
    const pair = selfSignedLocalhost();
    cert = pair.cert;
    redis = await startPrivateRedis({ tls: pair });
    plain = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
  });
  afterAll(async () => {
    plain?.disconnect();
    await redis?.cleanup();
  });

  it('then hits are counted over TLS by a server whose certificate is trusted', async () => {
    const store = new RedisCounterStore(`rediss://localhost:${redis.tlsPort}`, {
      prefix: 'tls-trusted:',
      tls: { ca: cert },
      commandTimeoutMs: 2000,
    });
    try {
      expect((await store.hit('k', 60_000)).count).toBe(1);
      expect((await store.hit('k', 60_000)).count).toBe(2);
      expect(await plain.keys('tls-trusted:*')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('then a certificate it cannot trust is refused before any command is sent', async () => {
    const store = new RedisCounterStore(`rediss://localhost:${redis.tlsPort}`, {
      prefix: 'tls-untrusted:',
      commandTimeoutMs: 2000,
    });
    try {
      await expect(store.hit('k', 60_000)).rejects.toThrow(/certificate|cannot reach redis/i);
      expect(await plain.keys('tls-untrusted:*')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('then a trusted certificate for another name is refused too', async () => {
    // The certificate names "localhost"; 127.0.0.1 is not in it.
    const store = new RedisCounterStore(`rediss://127.0.0.1:${redis.tlsPort}`, {
      prefix: 'tls-wrong-name:',
      tls: { ca: cert },
      commandTimeoutMs: 2000,
    });
    try {
      await expect(store.hit('k', 60_000)).rejects.toThrow(/IP|altnames|cannot reach redis/i);
      expect(await plain.keys('tls-wrong-name:*')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('when REDIS_URL has another scheme', () => {
  it('then it is refused at start with a message naming both', () => {
    expect(() => new RedisCounterStore('http://localhost:6379')).toThrow(/redis:\/\/ or rediss:\/\//);
  });
});
