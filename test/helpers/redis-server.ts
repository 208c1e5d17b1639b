import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, servicesRequired } from './net';

/**
 * A private redis-server (the distribution's binary, which .ci/run installs) on free ports, for
 * tests that must stop, restart or reconfigure a Redis: the shared one on 6379 is left alone.
 */
export interface PrivateRedis {
  /** Plain-text port (always open, so a test can look at what a TLS client wrote). */
  readonly port: number;
  /** TLS port, when started with `tls`. */
  readonly tlsPort: number | undefined;
  /** Stops the server (SIGTERM) and waits for it to exit; `start()` brings it back on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its files. */
  cleanup(): Promise<void>;
}

/** True when the binary is here; in CI (CI=true) its absence is an error, not a reason to skip. */
export function redisServerAvailable(): boolean {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found && servicesRequired()) throw new Error('redis-server is not installed; CI needs it (.ci/run installs it)');
  return found;
}

export async function startPrivateRedis(options: { tls?: { key: string; cert: string } } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-redis-'));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
  if (options.tls && tlsPort) {
    writeFileSync(join(dir, 'key.pem'), options.tls.key, { mode: 0o600 });
    writeFileSync(join(dir, 'cert.pem'), options.tls.cert);
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'cert.pem'));
    args.push('--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'cert.pem'));
    args.push('--tls-auth-clients', 'no');
  }
  let child: ChildProcess | undefined;

  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        // Printed once every listener is open.
        if (output.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.resume();
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    tlsPort,
    stop,
    start,
    cleanup: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
