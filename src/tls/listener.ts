import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { secureContextOptions } from './policy';
import { readTlsPair, type TlsFiles } from './tls-files';
import { TlsReloader, type TlsReloadLogger } from './reloader';

export interface ListenerOptions {
  /** Certificate and key files; undefined: plain HTTP (behind a TLS-terminating proxy). */
  readonly tls?: TlsFiles;
  /** Where reloads are reported (success, or a refused new pair: the old one keeps serving). */
  readonly logger?: TlsReloadLogger;
  /** Poll interval of the certificate files (default 2 s); tests shorten it. */
  readonly watchIntervalMs?: number;
}

/** A server and, with TLS, the reloader that swaps its certificate. */
export interface Listener {
  readonly server: Server;
  readonly scheme: 'http' | 'https';
  /** undefined for plain HTTP. */
  readonly tls: TlsReloader | undefined;
}

/**
 * The one way flowgate makes a listening socket (main port, metrics port, console): plain HTTP, or
 * HTTPS with the checked pair, TLS ≥ 1.2, HTTP/1.1 (ALPN), and the certificate reloaded on SIGHUP
 * or when its files change — existing connections keep the context they were opened with, new
 * ones get the new certificate (`server.setSecureContext`). A pair that is expired or mismatched
 * throws TlsFilesError here, before anything listens. Timeouts and listening stay with the caller.
 */
export function createListener(handler: RequestListener, options: ListenerOptions = {}): Listener {
  if (!options.tls) return { server: createHttpServer(handler), scheme: 'http', tls: undefined };
  const pair = readTlsPair(options.tls);
  const server: HttpsServer = createHttpsServer(
    { ...secureContextOptions(pair), ALPNProtocols: ['http/1.1'] },
    handler,
  );
  const reloader = new TlsReloader(server, options.tls, pair, options.logger, options.watchIntervalMs);
  server.once('close', () => reloader.stop());
  reloader.start();
  // An https.Server is an http.Server with TLS in front; callers only use what both have.
  return { server: server, scheme: 'https', tls: reloader };
}
