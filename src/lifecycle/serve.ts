import type { Server } from 'node:http';
import type { Service } from '../service';
import { createListener } from '../tls';

/**
 * Listens with timeouts suited to WhatsApp's 10 s budget and load balancers' keep-alive: plain
 * HTTP, or HTTPS when TLS_CERT_FILE/TLS_KEY_FILE are set (src/tls: checked pair, TLS >= 1.2,
 * reloaded on SIGHUP or file change).
 */
export function listen(service: Service): Promise<Server> {
  const { config } = service;
  const { server, tls } = createListener(service.handler, { tls: config.tls, logger: service.logger });
  if (tls) {
    const { subject, fingerprint256, validTo } = tls.current;
    const days = Math.floor((validTo.getTime() - Date.now()) / 86_400_000);
    const meta = { pid: process.pid, subject, fingerprint256, validTo: validTo.toISOString() };
    // Renewal is the operator's job (certbot, cert-manager); a certificate this close to its end means it is not happening.
    if (days < 14)
      service.logger.warn(`TLS certificate expires in ${days} day(s); renew it (reloaded on SIGHUP)`, meta);
    else service.logger.info('TLS certificate loaded', meta);
  }
  return new Promise((resolve, reject) => {
    server.listen(config.port, config.host);
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 15_000;
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

export function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

/** `http` or `https`, for log lines that show where the service listens. */
export function schemeOf(config: { readonly tls: unknown }): 'http' | 'https' {
  return config.tls ? 'https' : 'http';
}
