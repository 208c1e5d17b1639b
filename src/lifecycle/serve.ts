import { createServer, type Server } from 'node:http';
import type { Service } from '../service';

/** Listens with timeouts suited to WhatsApp's 10 s budget and load balancers' keep-alive. */
export function listen(service: Service): Promise<Server> {
  const { config } = service;
  return new Promise((resolve, reject) => {
    const server = createServer(service.handler).listen(config.port, config.host);
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
