import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encryptMediaFile } from './meta-media-cipher';

/** One file of a picker value, as WhatsApp puts it in the `data_exchange` payload. */
export interface WireMediaObject {
  media_id: string;
  cdn_url: string;
  file_name: string;
  encryption_metadata: {
    encrypted_hash: string;
    iv: string;
    encryption_key: string;
    hmac_key: string;
    plaintext_hash: string;
  };
}

/**
 * A stand-in for WhatsApp's media CDN on a loopback port (development and tests only; the
 * service accepts loopback URLs only outside production): each added file is encrypted the way
 * WhatsApp does it and served at an unguessable path with a plain GET, like the real CDN.
 */
export class LocalCdn {
  readonly #files = new Map<string, Buffer>();
  #server: Server | undefined;
  #base = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const body = req.method === 'GET' ? this.#files.get(req.url ?? '') : undefined;
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Encrypts `plaintext` with fresh keys, serves it, and returns the media object a phone would send. */
  add(plaintext: Buffer, fileName: string): WireMediaObject {
    if (!this.#server) throw new Error('LocalCdn.start() first');
    const { cdnFile, keys } = encryptMediaFile(plaintext);
    const path = `/v/${randomBytes(16).toString('hex')}`;
    this.#files.set(path, cdnFile);
    return {
      media_id: randomUUID(),
      cdn_url: `${this.#base}${path}`,
      file_name: fileName,
      encryption_metadata: {
        encrypted_hash: keys.encryptedHash.toString('base64'),
        iv: keys.iv.toString('base64'),
        encryption_key: keys.encryptionKey.toString('base64'),
        hmac_key: keys.hmacKey.toString('base64'),
        plaintext_hash: keys.plaintextHash.toString('base64'),
      },
    };
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
