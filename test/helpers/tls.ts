import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { openResponse, sealRequest } from './whatsapp-client';

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

/** A fresh self-signed P-256 certificate for localhost/127.0.0.1, made by the openssl CLI. */
export function opensslCert(dir: string, name: string, days = 2): TestCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(days),
      '-subj',
      `/CN=localhost`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

/** A self-signed certificate that expired yesterday (openssl's `req` cannot backdate; node-forge can). */
export function expiredCert(dir: string, name: string): TestCert {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 10 * 86400_000);
  cert.validity.notAfter = new Date(Date.now() - 86400_000);
  const attrs = [{ name: 'commonName', value: 'localhost' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, forge.pki.privateKeyToPem(keys.privateKey));
  return { certFile, keyFile, certPem };
}

/** SHA-256 fingerprint of a PEM certificate, as node's `getPeerCertificate().fingerprint256` writes it. */
export function fingerprintOf(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return (createHash('sha256').update(der).digest('hex').toUpperCase().match(/.{2}/g) ?? []).join(':');
}

export interface HttpsReply {
  readonly status: number;
  readonly body: string;
  /** Fingerprint of the certificate the server presented on this request's connection. */
  readonly fingerprint: string;
  readonly protocol: string | null;
  readonly reusedSocket: boolean;
}

/** One HTTPS request that verifies the server against `ca` (name: localhost), through `agent` if given. */
export function httpsRequest(
  url: string,
  options: { ca: string[]; agent?: Agent; method?: string; body?: string; headers?: Record<string, string> },
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        servername: 'localhost',
        agent: options.agent ?? false,
        headers: options.headers,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const protocol = socket.getProtocol();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, fingerprint, protocol, reusedSocket: req.reusedSocket }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An encrypted ping over HTTPS (WhatsApp's health check); resolves to the decrypted answer. */
export async function httpsPing(
  url: string,
  publicKeyPem: string,
  options: { ca: string[]; agent?: Agent; appSecret?: string },
): Promise<{ status: number; json: unknown; fingerprint: string }> {
  const sealed = sealRequest(publicKeyPem, { version: '3.0', action: 'ping' });
  const body = JSON.stringify(sealed.envelope);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.appSecret)
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', options.appSecret).update(body).digest('hex')}`;
  const reply = await httpsRequest(url, { ca: options.ca, agent: options.agent, method: 'POST', body, headers });
  const json =
    reply.status === 200 ? (JSON.parse(openResponse(reply.body, sealed.aesKey, sealed.iv)) as unknown) : undefined;
  return { status: reply.status, json, fingerprint: reply.fingerprint };
}
