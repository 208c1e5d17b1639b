import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { RespClient } from '../../src/ratelimit';

/**
 * `rediss://`: the RESP client over TLS, against a TLS server of the test's own that answers
 * every command with +PONG (a certificate for "localhost", made here with node-forge).
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

describe('when REDIS_URL is rediss://', () => {
  let server: Server;
  let port: number;
  let cert: string;
  let commands = 0;
  beforeAll(async () => {
    const pair = selfSignedLocalhost();
    cert = pair.cert;
    server = createServer({ key: pair.key, cert: pair.cert }, (socket) => {
      socket.on('data', (chunk: Buffer) => {
        // One reply per command (each starts with '*').
        const n = chunk.toString('latin1').split('*').length - 1;
        commands += n;
        socket.write('+PONG\r\n'.repeat(n));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('then commands go over TLS to a server whose certificate is trusted', async () => {
    const client = new RespClient(`rediss://localhost:${port}`, { tls: { ca: cert } });
    try {
      expect(await client.pipeline([['PING']])).toEqual(['PONG']);
      expect(commands).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });

  it('then a certificate it cannot trust is refused before any command is sent', async () => {
    const before = commands;
    const client = new RespClient(`rediss://localhost:${port}`, { commandTimeoutMs: 2000 });
    try {
      await expect(client.pipeline([['PING']])).rejects.toThrow(/cannot reach redis|connection/);
      expect(commands).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('then other schemes are refused at start with a message naming both', () => {
    expect(() => new RespClient(`http://localhost:${port}`)).toThrow(/redis:\/\/ or rediss:\/\//);
  });
});
