import { fork, type ChildProcess } from 'node:child_process';
import { constants, createPrivateKey, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { writeKeyPair } from '../crypto';
import { signFlowToken } from '../devtools';
import { freeSlots } from '../flows/book-appointment/calendar';
import { send, type PoolEntry } from './load';
import type { Usage } from './server';
import { openEndpointResponse, sealForEndpoint } from './whatsapp-sealer';

export const BENCH_FLOW = 'book-appointment';

export interface BenchServerOptions {
  readonly databaseUrl: string | undefined;
  readonly audit: boolean;
  readonly workers: number;
  /** Extra environment for the service (overrides the defaults below). */
  readonly env?: Record<string, string>;
  /** Node options of the service process, e.g. `--cpu-prof` to profile it. */
  readonly execArgv?: readonly string[];
  /** Run the service (and the workers it forks) on these CPUs only, through taskset ("0", "0-1"). */
  readonly cpus?: string;
}

/** A flowgate started for load in a child process, with its own keys, secrets and schema. */
export interface BenchServer {
  readonly baseUrl: string;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
  readonly appSecret: string;
  readonly tokenApiKey: string;
  readonly child: ChildProcess;
  readonly schema: string | undefined;
  /** Lines the service wrote to stderr/stdout (warnings and errors only; LOG_LEVEL=warn). */
  readonly output: string[];
  /** CPU time and SQL statements of the service so far (all workers). */
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

const secret = (): string => randomBytes(32).toString('base64url');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts dist/src/bench/server.js (compiled) with a fresh environment and waits until it serves. */
export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-bench-'));
  const pair = writeKeyPair(join(dir, 'private.pem'));
  const port = await freePort();
  // Production checks the app secret's format: 32 hex characters, as Meta issues it.
  const appSecret = randomBytes(16).toString('hex');
  const tokenApiKey = secret();
  const schema = options.databaseUrl ? `fgbench_${randomBytes(5).toString('hex')}` : undefined;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // Production refuses PGlite (src/config): without a server the bench runs as a test setup.
    NODE_ENV: options.databaseUrl ? 'production' : 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    FLOWS_PRIVATE_KEY_FILE: pair.privateKeyFile,
    META_APP_SECRET: appSecret,
    FLOW_TOKEN_SECRET: secret(),
    SUBJECT_HASH_KEY: secret(),
    SUBMISSION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TOKEN_API_KEY: tokenApiKey,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    AUDIT_ENABLED: String(options.audit),
    BENCH_WORKERS: String(options.workers),
    // The load comes from one address and a few hundred tokens: limits would measure themselves.
    RATE_LIMIT_PER_TOKEN_PER_MINUTE: '100000',
    RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '100000',
    RATE_LIMIT_GLOBAL_PER_SECOND: '1000000',
    ...(options.databaseUrl
      ? { DATABASE_URL: withApplicationName(options.databaseUrl, schema as string), DATABASE_SCHEMA: schema as string }
      : { PGLITE_DATA_DIR: 'memory://' }),
    ...(options.env ?? {}),
  };
  const output: string[] = [];
  const child = fork(join(__dirname, 'server.js'), [], {
    env,
    // `taskset -c CPUS node …`: the affinity is set before node starts and its workers inherit it.
    ...(options.cpus
      ? { execPath: 'taskset', execArgv: ['-c', options.cpus, process.execPath, ...(options.execArgv ?? [])] }
      : { execArgv: [...(options.execArgv ?? [])] }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) output.push(line);
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bench server did not start in 60 s:\n${output.join('\n')}`)),
      60_000,
    );
    child.on('message', (m: unknown) => {
      if ((m as { ready?: boolean }).ready) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code}:\n${output.slice(-30).join('\n')}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    publicKeyPem: readFileSync(pair.publicKeyFile, 'utf8'),
    privateKeyPem: readFileSync(pair.privateKeyFile, 'utf8'),
    appSecret,
    tokenApiKey,
    child,
    schema,
    output,
    usage: () =>
      new Promise<Usage>((resolve) => {
        const onMessage = (m: unknown): void => {
          const usage = (m as { usage?: Usage }).usage;
          if (!usage) return;
          child.off('message', onMessage);
          resolve(usage);
        };
        child.on('message', onMessage);
        child.send('usage');
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send('stop');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      if (options.databaseUrl && schema) {
        const knex = knexFactory({ client: 'pg', connection: options.databaseUrl });
        try {
          await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
        } finally {
          await knex.destroy();
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The URL with `application_name` set to the bench's schema: pg lets the URL's parameters override
 * the pool's own, so the bench's backends can be told apart on a shared server (src/bench/ratios.ts
 * reads their CPU time).
 */
function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/** Issues a flow token through the token API (as the business's messaging system would). */
export async function issueToken(server: BenchServer, phone: string): Promise<string> {
  const res = await fetch(`${server.baseUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.tokenApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ flow_id: BENCH_FLOW, phone }),
  });
  if (res.status !== 201) throw new Error(`token API answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { flow_token: string }).flow_token;
}

export function entry(server: BenchServer, payload: unknown, check: (json: unknown) => boolean): PoolEntry {
  const sealed = sealForEndpoint(server.publicKeyPem, payload, server.appSecret);
  return {
    path: `/flows/${BENCH_FLOW}`,
    sealed,
    check: (status, body) => status === 200 && check(openEndpointResponse(body, sealed.aesKey, sealed.iv)),
  };
}

export function pingPool(server: BenchServer, size: number): PoolEntry[] {
  return Array.from({ length: size }, () =>
    entry(
      server,
      { version: '4.0', action: 'ping' },
      (json) => (json as { data?: { status?: string } } | undefined)?.data?.status === 'active',
    ),
  );
}

/** The first date in the booking window with free times (the example's calendar is deterministic). */
export function bookableDate(): string {
  for (let i = 1; i <= 30; i++) {
    const date = new Date(Date.now() + i * 86_400_000).toISOString().slice(0, 10);
    if (freeSlots(date).length > 0) return date;
  }
  throw new Error('no bookable date in the booking window');
}

/**
 * `tokens` flow tokens, each opened with INIT, and `perToken` distinct sealed data_exchange
 * requests each (APPOINTMENT, date_selected: the handler computes the day's free times and the
 * session is read, then updated and audited in one statement). Replays of one request are harmless.
 */
export async function exchangePool(server: BenchServer, tokens: number, perToken: number): Promise<PoolEntry[]> {
  const url = new URL(server.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const date = bookableDate();
  const isAppointment = (json: unknown): boolean => {
    const j = json as { screen?: string; data?: { is_time_enabled?: boolean } } | undefined;
    return j?.screen === 'APPOINTMENT' && j.data?.is_time_enabled === true;
  };
  const perTokenPools = await Promise.all(
    Array.from({ length: tokens }, async (_, i) => {
      const token = await issueToken(server, `+1415555${String(1000 + i).padStart(4, '0')}`);
      // Data API 4.0 as the example flow declares it: production requires flow_token_signature.
      const flow_token_signature = signFlowToken(token, server.appSecret);
      const init = entry(
        server,
        { version: '4.0', action: 'INIT', flow_token: token, flow_token_signature, screen: '', data: {} },
        (j) => Boolean((j as { screen?: string } | undefined)?.screen),
      );
      const res = await send(agent, url, init, 30_000);
      if (!init.check(res.status, res.body)) throw new Error(`INIT answered ${res.status}`);
      return Array.from({ length: perToken }, () =>
        entry(
          server,
          {
            version: '4.0',
            action: 'data_exchange',
            flow_token: token,
            flow_token_signature,
            screen: 'APPOINTMENT',
            data: { trigger: 'date_selected', date },
          },
          isAppointment,
        ),
      );
    }),
  );
  agent.destroy();
  // Interleave tokens so consecutive requests rarely share a token (and wait in its queue).
  const pool: PoolEntry[] = [];
  for (let k = 0; k < perToken; k++) for (const p of perTokenPools) pool.push(p[k]);
  return pool;
}

/** RSA-OAEP-2048 (SHA-256) private decrypts per second on one core, as the service does them. */
export function measureRsaPerSecond(privateKeyPem: string, publicKeyPem: string, durationMs = 1500): number {
  const key = createPrivateKey(privateKeyPem);
  const wrapped = Array.from({ length: 64 }, () =>
    publicEncrypt(
      { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      randomBytes(16),
    ),
  );
  for (let i = 0; i < 50; i++)
    privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped[i % 64]);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped[n % 64]);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}
