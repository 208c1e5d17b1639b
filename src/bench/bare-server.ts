import cluster from 'node:cluster';
import { fork, type ChildProcess } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptEnvelope, encryptResponse } from '../crypto';
import { freePort } from './harness';

/**
 * The yardstick of `npm run bench -- --rounds N` (src/bench/ratios.ts): a server that does only what
 * no data endpoint can skip — read the body, parse the envelope, unwrap the AES key (RSA-OAEP),
 * open the request (AES-GCM), parse it, and answer `{"data":{"status":"active"}}` encrypted — with
 * the same crypto module as flowgate, on the same cores and with as many node:cluster workers. No
 * signature check, validation, routing, database or audit: flowgate's rate divided by this one's is
 * what those cost, and a busy machine slows both alike.
 */
export function serveBare(): void {
  const workers = Math.max(1, Number(process.env.BENCH_WORKERS ?? '1'));
  if (workers > 1 && cluster.isPrimary) {
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('message', (m: unknown) => {
        if ((m as { ready?: boolean }).ready && ++ready === workers) process.send?.({ ready: true });
      });
    }
    process.on('message', (m) => {
      if (m !== 'usage') return;
      const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = all.length;
      let cpuMicros = 0;
      for (const w of all) {
        const onUsage = (u: unknown): void => {
          const usage = (u as { usage?: { cpuMicros: number } }).usage;
          if (!usage) return;
          w.off('message', onUsage);
          cpuMicros += usage.cpuMicros;
          if (--left === 0) process.send?.({ usage: { cpuMicros } });
        };
        w.on('message', onUsage);
        w.send('usage');
      }
    });
    const stop = (): void => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      setTimeout(() => process.exit(0), 2000).unref();
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    };
    process.on('message', (m) => m === 'stop' && stop());
    process.on('SIGTERM', stop);
    return;
  }
  const key = createPrivateKey(readFileSync(process.env.BARE_PRIVATE_KEY_FILE ?? '', 'utf8'));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Parameters<typeof decryptEnvelope>[0];
        const opened = decryptEnvelope(envelope, [key]);
        JSON.parse(opened.plaintext.toString('utf8'));
        const body = encryptResponse('{"data":{"status":"active"}}', opened.aesKey, opened.iv);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } catch {
        res.writeHead(421, { 'content-length': '0' });
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.({ ready: true }));
  process.on('message', (m) => {
    if (m === 'usage') {
      const cpu = process.cpuUsage();
      process.send?.({ usage: { cpuMicros: cpu.user + cpu.system } });
    } else if (m === 'stop') {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    }
  });
}

export interface BareServer {
  readonly baseUrl: string;
  /** CPU time of all its processes so far, microseconds. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the bare server with `privateKeyPem` (flowgate's, so the same sealed requests open on both). */
export async function startBareServer(options: {
  readonly privateKeyPem: string;
  readonly workers: number;
  readonly cpus?: string;
}): Promise<BareServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-bare-'));
  const keyFile = join(dir, 'private.pem');
  writeFileSync(keyFile, options.privateKeyPem, { mode: 0o600 });
  const port = await freePort();
  const child: ChildProcess = fork(join(__dirname, 'bare-server.js'), [], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      BENCH_WORKERS: String(options.workers),
      BARE_PRIVATE_KEY_FILE: keyFile,
    },
    ...(options.cpus ? { execPath: 'taskset', execArgv: ['-c', options.cpus, process.execPath] } : { execArgv: [] }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare server did not start in 120 s')), 120_000);
    child.on('message', (m: unknown) => {
      if ((m as { ready?: boolean }).ready) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare server exited with ${code}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        const onMessage = (m: unknown): void => {
          const usage = (m as { usage?: { cpuMicros: number } }).usage;
          if (!usage) return;
          child.off('message', onMessage);
          resolve(usage.cpuMicros);
        };
        child.on('message', onMessage);
        child.send('usage');
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send('stop');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (require.main === module) serveBare();
