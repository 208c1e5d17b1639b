import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import pg from 'pg';
import { TLS_CIPHERS } from '../../src/tls';
import { makeTestKeys, testEnv, type TestKeys } from '../helpers/env';
import { freePort } from '../helpers/net';
import { messageOf, spawnService, type SpawnedService } from '../helpers/spawn-service';
import { expiredCert, fingerprintOf, httpsPing, httpsRequest, opensslCert, type TestCert } from '../helpers/tls';

/**
 * Native HTTPS through the built service (`node dist/src/main.js`): certificates made in the test
 * by the openssl CLI; clients verify them (no "insecure" switch anywhere).
 */

function tlsDir(): string {
  return mkdtempSync(join(tmpdir(), 'flowgate-tls-'));
}

/** Copies a pair over the files the service was started with (what a renewal does). */
function install(pair: TestCert, live: { certFile: string; keyFile: string }): void {
  copyFileSync(pair.keyFile, live.keyFile);
  copyFileSync(pair.certFile, live.certFile);
}

/** Connects with TLS 1.0/1.1 only (the client's own floor lowered): resolves to the error the server's alert caused. */
function oldTlsHandshake(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(`connected with ${String(socket.getProtocol())}`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(String(err.code)));
  });
}

describe('when TLS_CERT_FILE and TLS_KEY_FILE are set (one process, PGlite)', () => {
  let keys: TestKeys;
  let dir: string;
  let svc: SpawnedService;
  let port: number;
  let metricsPort: number;
  let first: TestCert;
  let second: TestCert;
  const live = { certFile: '', keyFile: '' };
  const env: Record<string, string | undefined> = {};

  beforeAll(async () => {
    keys = makeTestKeys();
    dir = tlsDir();
    first = opensslCert(dir, 'first');
    second = opensslCert(dir, 'second');
    live.certFile = join(dir, 'live.crt');
    live.keyFile = join(dir, 'live.key');
    install(first, live);
    port = await freePort();
    metricsPort = await freePort();
    Object.assign(
      env,
      testEnv(keys, {
        DATABASE_URL: undefined,
        PGLITE_DATA_DIR: 'memory://',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        METRICS_TOKEN: 'tls-metrics-token-0123456789abcdef',
        TLS_CERT_FILE: live.certFile,
        TLS_KEY_FILE: live.keyFile,
      }),
    );
    svc = spawnService(env, keys.dir);
    // Generous: PGlite's first start takes long on a loaded machine.
    await svc.waitForLog((l) => messageOf(l).startsWith('flowgate listening on https://'), 110_000);
  }, 120_000);

  afterAll(async () => {
    svc?.kill('SIGTERM');
    await svc?.exited().catch(() => svc.kill('SIGKILL'));
    keys?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const ca = (): string[] => [first.certPem, second.certPem];

  it('then the flow endpoint, health and metrics answer over verified HTTPS with TLS 1.2 or newer', async () => {
    const health = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca() });
    expect(health.status).toBe(200);
    expect(health.fingerprint).toBe(fingerprintOf(first.certPem));
    expect(['TLSv1.2', 'TLSv1.3']).toContain(health.protocol);
    const ping = await httpsPing(`https://127.0.0.1:${port}/flows/book-appointment`, keys.publicKeyPem, {
      ca: ca(),
      appSecret: env.META_APP_SECRET,
    });
    expect(ping.status).toBe(200);
    expect(ping.json).toEqual({ version: '3.0', data: { status: 'active' } });
    const metrics = await httpsRequest(`https://127.0.0.1:${metricsPort}/metrics`, {
      ca: ca(),
      headers: { authorization: `Bearer ${env.METRICS_TOKEN as string}` },
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('flowgate_requests_total');
    // The test certificate lives two days: the start warns that it is about to expire.
    const loaded = svc.logs.find((l) => /^TLS certificate expires in 1 day\(s\)/.test(messageOf(l)));
    expect(loaded?.fingerprint256).toBe(fingerprintOf(first.certPem));
    expect(loaded?.level).toBe('warn');
  });

  it('then a TLS 1.1 client is refused by the server (protocol_version alert) and a TLS 1.2 client with a modern suite gets through', async () => {
    expect(await oldTlsHandshake(port, first.certPem)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(await oldTlsHandshake(metricsPort, first.certPem)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    const cipher = await new Promise<string>((resolve, reject) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: first.certPem,
        maxVersion: 'TLSv1.2',
      });
      socket.once('secureConnect', () => {
        resolve(socket.getCipher().name);
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(TLS_CIPHERS.split(':')).toContain(cipher);
    // A client offering only a CBC suite without forward secrecy finds nothing in common.
    const weak = await new Promise<string>((resolve) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: first.certPem,
        maxVersion: 'TLSv1.2',
        ciphers: 'AES128-SHA',
      });
      socket.once('secureConnect', () => resolve('connected'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(String(err.code)));
    });
    expect(weak).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
  });

  it('then a renewed pair is served to new connections after SIGHUP while an open keep-alive connection goes on working', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca(), agent });
      expect(before.fingerprint).toBe(fingerprintOf(first.certPem));
      install(second, live);
      svc.kill('SIGHUP');
      await svc.waitForLog(
        (l) =>
          messageOf(l).startsWith('TLS certificate reloaded') && l.fingerprint256 === fingerprintOf(second.certPem),
      );
      const fresh = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca() });
      expect(fresh.status).toBe(200);
      expect(fresh.fingerprint).toBe(fingerprintOf(second.certPem));
      const old = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca(), agent });
      expect(old.status).toBe(200);
      expect(old.reusedSocket).toBe(true);
      expect(old.fingerprint).toBe(fingerprintOf(first.certPem));
      expect(svc.child.exitCode).toBeNull();
    } finally {
      agent.destroy();
    }
  });

  it('then a pair changed on disk is picked up without a signal, and a mismatched one is refused while the current one keeps serving', async () => {
    install(first, live);
    await svc.waitForLog(
      (l) =>
        messageOf(l) === 'TLS certificate reloaded (file change)' && l.fingerprint256 === fingerprintOf(first.certPem),
      15_000,
    );
    expect((await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca() })).fingerprint).toBe(
      fingerprintOf(first.certPem),
    );
    copyFileSync(second.certFile, live.certFile); // the certificate renewed, its key not (yet)
    svc.kill('SIGHUP');
    await svc.waitForLog((l) =>
      /^TLS certificate not reloaded \(SIGHUP\): TLS_KEY_FILE: .* is not the key/.test(messageOf(l)),
    );
    const still = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca() });
    expect(still.status).toBe(200);
    expect(still.fingerprint).toBe(fingerprintOf(first.certPem));
    copyFileSync(first.certFile, live.certFile);
  });
});

describe('when the TLS pair is not servable', () => {
  let keys: TestKeys;
  let dir: string;
  beforeAll(() => {
    keys = makeTestKeys();
    dir = tlsDir();
  });
  afterAll(() => {
    keys.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (tlsEnv: Record<string, string>): Promise<{ code: number | null; stderr: string }> => {
    const svc = spawnService(
      testEnv(keys, {
        DATABASE_URL: undefined,
        PGLITE_DATA_DIR: 'memory://',
        PORT: String(await freePort()),
        ...tlsEnv,
      }),
      keys.dir,
    );
    const { code } = await svc.exited();
    return { code, stderr: svc.stderr.join('') };
  };

  it('then an expired certificate stops the start with a message naming the file and the date', async () => {
    const old = expiredCert(dir, 'expired');
    const { code, stderr } = await start({ TLS_CERT_FILE: old.certFile, TLS_KEY_FILE: old.keyFile });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^flowgate cannot start: TLS_CERT_FILE: the certificate in .*expired\.crt expired on \d{4}-/m,
    );
  });

  it('then a key that is not the certificate’s stops the start', async () => {
    const a = opensslCert(dir, 'a');
    const b = opensslCert(dir, 'b');
    const { code, stderr } = await start({ TLS_CERT_FILE: a.certFile, TLS_KEY_FILE: b.keyFile });
    expect(code).toBe(1);
    expect(stderr).toMatch(/flowgate cannot start: TLS_KEY_FILE: .*b\.key is not the key of the certificate/);
    expect(stderr).not.toContain('PRIVATE KEY');
  });

  it('then half a pair or a missing file stops the start', async () => {
    const a = opensslCert(dir, 'half');
    expect((await start({ TLS_CERT_FILE: a.certFile })).stderr).toMatch(
      /TLS_KEY_FILE: is required when TLS_CERT_FILE is set/,
    );
    expect((await start({ TLS_CERT_FILE: join(dir, 'nope.crt'), TLS_KEY_FILE: a.keyFile })).stderr).toMatch(
      /TLS_CERT_FILE: cannot read .*nope\.crt \(ENOENT\)/,
    );
  });
});

const databaseUrl = process.env.DATABASE_URL;
(databaseUrl ? describe : describe.skip)('when the cluster (2 workers, PostgreSQL) serves TLS', () => {
  it('then every worker serves the pair, and SIGHUP to the primary reloads it in all of them', async () => {
    const keys = makeTestKeys();
    const dir = tlsDir();
    const first = opensslCert(dir, 'first');
    const second = opensslCert(dir, 'second');
    const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };
    install(first, live);
    const port = await freePort();
    const env = testEnv(keys, {
      PORT: String(port),
      WEB_CONCURRENCY: '2',
      DATABASE_POOL_MAX: '2',
      TLS_CERT_FILE: live.certFile,
      TLS_KEY_FILE: live.keyFile,
    });
    const svc = spawnService(env, keys.dir);
    const ca = [first.certPem, second.certPem];
    try {
      await svc.waitForLog((l) => messageOf(l) === 'all 2 workers listening', 60_000);
      expect(svc.logs.filter((l) => /^worker \d listening on https:\/\//.test(messageOf(l)))).toHaveLength(2);
      // New connections are spread over the workers: all of them present the first certificate.
      for (let i = 0; i < 6; i++) {
        expect((await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca })).fingerprint).toBe(
          fingerprintOf(first.certPem),
        );
      }
      install(second, live);
      svc.kill('SIGHUP');
      const reloaded = (): number =>
        new Set(
          svc.logs
            .filter(
              (l) =>
                messageOf(l) === 'TLS certificate reloaded (SIGHUP)' &&
                l.fingerprint256 === fingerprintOf(second.certPem),
            )
            .map((l) => l.pid),
        ).size;
      for (let i = 0; i < 100 && reloaded() < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(reloaded()).toBe(2);
      for (let i = 0; i < 6; i++) {
        expect((await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca })).fingerprint).toBe(
          fingerprintOf(second.certPem),
        );
      }
      expect(svc.child.exitCode).toBeNull();
      svc.kill('SIGTERM');
      expect(await svc.exited()).toEqual({ code: 0, signal: null });
    } finally {
      svc.kill('SIGKILL');
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA as string}" CASCADE`);
      await client.end();
      keys.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
