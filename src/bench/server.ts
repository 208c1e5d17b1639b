import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { loadConfig } from '../config';
import { createLogger } from '../logging';
import { createService } from '../service';
import { openDatabase } from '../storage';

/** CPU time of the service processes and SQL statements they sent (BEGIN and COMMIT included). */
export interface Usage {
  cpuMicros: number;
  queries: number;
  /** Time in RSA private-key decrypts (flowgate_rsa_decrypt_seconds_total), microseconds. */
  rsaMicros: number;
  /** Resident set size and V8 heap in use, bytes (summed over workers; after a GC when exposed). */
  rss: number;
  heapUsed: number;
}

/**
 * The service under load, in its own process (so the load generator's CPU is not the service's):
 * configured from the environment like `npm start`, on PORT, with BENCH_WORKERS processes sharing
 * the port through node:cluster. Migrations run once in the primary before the workers start.
 * Talks to its parent over IPC: sends `{ ready: true }`, stops on `'stop'` or SIGTERM.
 */
export async function serveBench(): Promise<void> {
  const workers = Math.max(1, Number(process.env.BENCH_WORKERS ?? '1'));
  if (workers > 1 && cluster.isPrimary) {
    const config = loadConfig();
    const database = await openDatabase(config.database, { migrate: true });
    await database.close();
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('message', (m: unknown) => {
        if ((m as { ready?: boolean }).ready && ++ready === workers) process.send?.({ ready: true });
      });
    }
    // Usage of all workers: ask each, sum the answers.
    process.on('message', (m) => {
      if (m !== 'usage') return;
      const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = all.length;
      const sum: Usage = { cpuMicros: 0, queries: 0, rsaMicros: 0, rss: 0, heapUsed: 0 };
      for (const w of all) {
        const onUsage = (u: unknown): void => {
          if (!(u as { usage?: Usage }).usage) return;
          w.off('message', onUsage);
          sum.cpuMicros += (u as { usage: Usage }).usage.cpuMicros;
          sum.queries += (u as { usage: Usage }).usage.queries;
          sum.rsaMicros += (u as { usage: Usage }).usage.rsaMicros;
          sum.rss += (u as { usage: Usage }).usage.rss;
          sum.heapUsed += (u as { usage: Usage }).usage.heapUsed;
          if (--left === 0) process.send?.({ usage: sum });
        };
        w.on('message', onUsage);
        w.send('usage');
      }
    });
    const stop = (): void => {
      for (const w of Object.values(cluster.workers ?? {})) w?.send('stop');
      let left = workers;
      cluster.on('exit', () => {
        if (--left === 0) process.exit(0);
      });
      setTimeout(() => process.exit(0), 10_000).unref();
    };
    process.on('message', (m) => m === 'stop' && stop());
    process.on('SIGTERM', stop);
    return;
  }
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: 'json' });
  const service = await createService(config, { logger });
  let queries = 0;
  service.database.knex.on('query', () => {
    queries++;
  });
  process.on('message', (m) => {
    if (m !== 'usage') return;
    const cpu = process.cpuUsage();
    // With --expose-gc (the soak), measure live memory rather than garbage not yet collected.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    process.send?.({
      usage: {
        cpuMicros: cpu.user + cpu.system,
        // knex's statements and the request path's own (src/storage/direct-sql.ts).
        queries: queries + service.database.sql.statementsSent,
        rsaMicros: service.metrics.rsaSecondsTotal * 1e6,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
      } satisfies Usage,
    });
  });
  const server: Server = await new Promise((resolve) => {
    const s = createServer(service.handler).listen(config.port, config.host, () => resolve(s));
  });
  server.keepAliveTimeout = 65_000;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      void service.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('message', (m) => m === 'stop' && stop());
  process.on('SIGTERM', stop);
  process.send?.({ ready: true });
}

if (require.main === module) {
  serveBench().catch((err: unknown) => {
    process.stderr.write(`bench server cannot start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
