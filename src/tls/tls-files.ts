import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlowgateError } from '../errors';

/** A certificate/key pair that cannot be served; the message says which file and why. */
export class TlsFilesError extends FlowgateError {
  constructor(message: string) {
    super('tls_files_unusable', message);
  }
}

export interface TlsFiles {
  /** PEM: the server certificate first, then the intermediates (the chain clients need). */
  readonly certFile: string;
  /** PEM private key (PKCS#1, PKCS#8 or SEC1), not encrypted. */
  readonly keyFile: string;
}

/** A checked pair, as read from disk, ready for `tls.createSecureContext`. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly subject: string;
  readonly fingerprint256: string;
  readonly validTo: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks TLS_CERT_FILE / TLS_KEY_FILE: readable PEM, the key belongs to the first
 * (leaf) certificate, and the leaf is valid now. An expired or mismatched pair is refused here
 * rather than discovered by WhatsApp's failing handshakes.
 */
export function readTlsPair(files: TlsFiles, now: Date = new Date()): TlsPair {
  const cert = readPem(files.certFile, 'TLS_CERT_FILE');
  const key = readPem(files.keyFile, 'TLS_KEY_FILE');
  const pems = cert.toString('utf8').match(PEM_CERT) ?? [];
  if (pems.length === 0) throw new TlsFilesError(`TLS_CERT_FILE: ${files.certFile} holds no PEM certificate`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pems[0] as string);
    pems.slice(1).forEach((pem) => new X509Certificate(pem));
  } catch {
    throw new TlsFilesError(`TLS_CERT_FILE: ${files.certFile} holds a certificate that cannot be parsed`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsFilesError(
      `TLS_KEY_FILE: ${files.keyFile} is not a readable unencrypted PEM private key (PKCS#1, PKCS#8 or SEC1)`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFilesError(
      `TLS_KEY_FILE: ${files.keyFile} is not the key of the certificate in ${files.certFile} (${leaf.subject.replace(/\n/g, ', ')}); the first certificate of TLS_CERT_FILE must be the server's own`,
    );
  }
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw new TlsFilesError(`TLS_CERT_FILE: the certificate in ${files.certFile} expired on ${validTo.toISOString()}`);
  }
  if (validFrom.getTime() > now.getTime()) {
    throw new TlsFilesError(
      `TLS_CERT_FILE: the certificate in ${files.certFile} is not valid before ${validFrom.toISOString()}`,
    );
  }
  return {
    cert,
    key,
    subject: leaf.subject.replace(/\n/g, ', '),
    fingerprint256: leaf.fingerprint256,
    validTo,
  };
}

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFilesError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
