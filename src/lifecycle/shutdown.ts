import type { Server } from 'node:http';
import type { Logger } from '../logging';

/** Upper bound of a graceful shutdown: the handler budget (≤ 9.5 s) plus time to flush and close. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export interface ShutdownTargets {
  readonly server: Server;
  readonly logger: Logger;
  /** Marks the process not ready (/readyz 503) before the listener closes. */
  readonly markDraining: () => void;
  /** Flushes audit batches and closes pools (Service.close). */
  readonly close: () => Promise<void>;
  /** Other listeners to close afterwards (the metrics port). */
  readonly extraServers?: readonly Server[];
  readonly timeoutMs?: number;
  readonly exit?: (code: number) => void;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting, answer what is in flight (responses get
 * `Connection: close` and idle keep-alive sockets are closed, so clients move on), flush audit
 * batches and close the database pool, exit 0. Past the bound, exit 1 whatever is still running.
 * Returns the trigger, so a cluster worker can call it on a message as well.
 */
export function installGracefulShutdown(targets: ShutdownTargets): (signal: string) => void {
  const exit = targets.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = targets.timeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const { server, logger } = targets;
    logger.info(`${signal}: stopping; finishing in-flight requests`, { pid: process.pid });
    targets.markDraining();
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms; exiting anyway`, { pid: process.pid });
      exit(1);
    }, timeoutMs);
    force.unref();
    // Requests that still arrive on open keep-alive connections are answered, then the socket closes.
    server.on('request', (_req, res) => res.setHeader('Connection', 'close'));
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    idle.unref();
    // The close callback cannot be awaited; the finishing steps catch their own failures.
    server.close(() => void finishAfterClose());
    async function finishAfterClose(): Promise<void> {
      clearInterval(idle);
      logger.info('in-flight requests finished; flushing audit and closing the database', { pid: process.pid });
      let code = 0;
      try {
        await targets.close();
        await Promise.all(
          (targets.extraServers ?? []).map(
            (s) =>
              new Promise<void>((r) => {
                s.close(() => r());
                s.closeAllConnections(); // a scraper's keep-alive socket must not hold the exit
              }),
          ),
        );
      } catch (error) {
        logger.error('shutdown', { error });
        code = 1;
      }
      clearTimeout(force);
      logger.info('stopped', { pid: process.pid, code });
      exit(code);
    }
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return stop;
}
