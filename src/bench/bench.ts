import { cpus, loadavg } from 'node:os';
import knexFactory from 'knex';
import { DevtoolError } from '../devtools/errors';
import { commandOf, onCpus, parentOf, pinDatabaseProcesses, pinProcess, planCpus, type CpuPlan } from './cpu-pinning';
import { exchangePool, measureRsaPerSecond, pingPool, startBenchServer, type BenchServer } from './harness';
import { latencySummary, runLoad, type LoadResult, type PoolEntry } from './load';
import { RawConnection } from './raw-connection';

export type Scenario = 'ping' | 'exchange';

export interface BenchOptions {
  readonly databaseUrl: string | undefined;
  readonly durationMs: number;
  readonly connections: readonly number[];
  readonly scenarios: readonly Scenario[];
  readonly audit: readonly boolean[];
  /** Service worker processes (node:cluster); PGlite allows one. */
  readonly workers: number;
  /** Move this host's PostgreSQL processes to the load generator's cores for the run (needs a CPU plan). */
  readonly pinDatabase?: boolean;
  readonly progress?: (line: string) => void;
}

export interface BenchCase extends LoadResult {
  readonly scenario: Scenario;
  readonly audit: boolean;
  readonly connections: number;
  /** RSA-OAEP decrypts/s of one of the service's cores, measured just before and after this case. */
  readonly rsaPerSecond: number;
  /** req/s ÷ (RSA decrypts/s of one core × workers). */
  readonly ofRsaCapacity: number;
  /** Service CPU per request (all workers), in ms: robust to a busy machine where req/s is not. */
  readonly serviceCpuMsPerRequest: number;
  /**
   * Of that, the RSA private-key decrypt, timed inside the service (flowgate_rsa_decrypt_seconds_total,
   * wall-clock: a service sharing its cores with the load or the database is also charged its waits):
   * set against 1000 / rsaPerSecond, it shows whether RSA runs as fast in the service as in the
   * yardstick's tight loop, and the rest of serviceCpuMsPerRequest is everything that is not RSA.
   */
  readonly serviceRsaMsPerRequest: number;
  /** SQL statements per request, BEGIN and COMMIT included: each is a round trip a request waits on. */
  readonly queriesPerRequest: number;
}

export interface BenchReport {
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    /** 1-minute load average before and after: other work on the machine skews every figure. */
    readonly loadBefore: number;
    readonly loadAfter: number;
  };
  readonly database: 'postgres' | 'pglite';
  readonly note: string | undefined;
  readonly workers: number;
  /** Where the service and the load generator ran; undefined when they shared every core. */
  readonly cpus: CpuPlan | undefined;
  /** Local PostgreSQL processes moved to the load generator's cores (--pin-database); 0 when none. */
  readonly databaseProcessesPinned: number;
  /** The mean of the cases' RSA rates. */
  readonly rsaPerSecondOneCore: number;
  readonly cases: readonly BenchCase[];
  /**
   * Audit on ÷ off, per scenario and connection count: the ratio of their RSA-relative rates, so
   * that the machine's speed at the time of each case cancels out (the raw req/s are in `cases`).
   */
  readonly auditRatios: readonly { scenario: Scenario; connections: number; ratio: number }[];
}

/**
 * Starts the service once per audit setting and loads it with prebuilt, WhatsApp-encrypted
 * requests at each connection count. The yardstick is the RSA-OAEP decrypt rate of one of the
 * service's cores, measured between slices of each case (runCase): a request costs one RSA private
 * decrypt plus everything else, so req/s cannot exceed it per core.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const progress = options.progress ?? (() => undefined);
  const loadBefore = loadavg()[0] ?? 0;
  const plan = planCpus(options.workers, cpus().length);
  if (plan) {
    pinProcess(process.pid, plan.client);
    progress(`service on CPU ${plan.service}, load generator on CPU ${plan.client}`);
  }
  if (options.pinDatabase && !plan)
    throw new DevtoolError('--pin-database needs fewer workers than cores, and taskset');
  const database =
    options.pinDatabase && plan && options.databaseUrl
      ? pinDatabaseProcesses(plan.client, await postmasterOf(options.databaseUrl))
      : undefined;
  if (database) progress(`PostgreSQL: ${database.moved} local processes on CPU ${plan?.client}`);
  // Interrupted (Ctrl-C), the database's processes still go back where they were.
  const onSignal = (signal: NodeJS.Signals): void => {
    database?.restore();
    process.kill(process.pid, signal);
  };
  if (database) for (const signal of SIGNALS) process.once(signal, onSignal);
  try {
    return await runCases(options, plan, database?.moved ?? 0, loadBefore, progress);
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    database?.restore();
  }
}

async function runCases(
  options: BenchOptions,
  plan: CpuPlan | undefined,
  databaseProcessesPinned: number,
  loadBefore: number,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const cases: BenchCase[] = [];
  for (const audit of options.audit) {
    const server = await startBenchServer({
      databaseUrl: options.databaseUrl,
      audit,
      workers: options.workers,
      cpus: plan?.service,
    });
    const rsa = (): number => onCpus(plan, () => measureRsaPerSecond(server.privateKeyPem, server.publicKeyPem, 600));
    try {
      for (const scenario of options.scenarios) {
        const pool = await poolFor(server, scenario, Math.max(...options.connections));
        for (const connections of options.connections) {
          const usageBefore = await server.usage();
          const measured = await runCase(server, pool, connections, options.durationMs, rsa);
          const usageAfter = await server.usage();
          const row: BenchCase = {
            ...measured.result,
            scenario,
            audit,
            connections,
            rsaPerSecond: measured.rsaPerSecond,
            ofRsaCapacity: measured.ofRsa / options.workers,
            serviceCpuMsPerRequest:
              (usageAfter.cpuMicros - usageBefore.cpuMicros) / 1000 / Math.max(1, measured.result.sent),
            serviceRsaMsPerRequest:
              (usageAfter.rsaMicros - usageBefore.rsaMicros) / 1000 / Math.max(1, measured.result.sent),
            queriesPerRequest: (usageAfter.queries - usageBefore.queries) / Math.max(1, measured.result.sent),
          };
          cases.push(row);
          progress(formatCase(row));
        }
      }
    } finally {
      await server.stop();
    }
  }
  const auditRatios: { scenario: Scenario; connections: number; ratio: number }[] = [];
  for (const on of cases.filter((c) => c.audit)) {
    const off = cases.find((c) => !c.audit && c.scenario === on.scenario && c.connections === on.connections);
    if (off && off.ofRsaCapacity > 0)
      auditRatios.push({
        scenario: on.scenario,
        connections: on.connections,
        ratio: on.ofRsaCapacity / off.ofRsaCapacity,
      });
  }
  const cpu = cpus();
  return {
    machine: {
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cores: cpu.length,
      node: process.version,
      loadBefore,
      loadAfter: loadavg()[0] ?? 0,
    },
    database: options.databaseUrl ? 'postgres' : 'pglite',
    note: options.databaseUrl
      ? undefined
      : 'DATABASE_URL is not set: the embedded PGlite database (one connection, one worker) was measured, not PostgreSQL.',
    workers: options.workers,
    cpus: plan,
    databaseProcessesPinned,
    rsaPerSecondOneCore: cases.reduce((sum, c) => sum + c.rsaPerSecond, 0) / Math.max(1, cases.length),
    cases,
    auditRatios,
  };
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The postmaster of the server at `url`, when it runs on this host: the parent of our backend. */
async function postmasterOf(url: string): Promise<number> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    const result = (await knex.raw('SELECT pg_backend_pid() AS pid')) as { rows: { pid: number }[] };
    const backend = Number(result.rows[0]?.pid);
    const postmaster = parentOf(backend);
    // A remote server's backend pid may exist here as some other process: both must be PostgreSQL's.
    if (postmaster === undefined || commandOf(backend) !== 'postgres' || commandOf(postmaster) !== 'postgres') {
      throw new DevtoolError('--pin-database: the database at DATABASE_URL does not run on this host');
    }
    return postmaster;
  } finally {
    await knex.destroy();
  }
}

const SLICE_MS = 1000;

/**
 * One case as alternating slices: about a second of load, then the RSA rate on the service's core
 * while the service idles, and so on. Each slice's req/s is set against the mean of the RSA rates
 * around it, and the case's ratio is the median of those: on a shared machine whose speed drifts
 * by a fifth within a minute, a ratio taken seconds apart is a ratio of two different machines.
 */
async function runCase(
  server: BenchServer,
  pool: readonly PoolEntry[],
  connections: number,
  durationMs: number,
  rsa: () => number,
): Promise<{ result: LoadResult; rsaPerSecond: number; ofRsa: number }> {
  const slices = Math.max(1, Math.round(durationMs / SLICE_MS));
  const latencies: number[] = [];
  const ratios: number[] = [];
  const rates: number[] = [];
  const errorKinds: Record<string, number> = {};
  let requests = 0;
  let sent = 0;
  let errors = 0;
  const url = new URL(server.baseUrl);
  const reuse = Array.from({ length: connections }, () => new RawConnection(url.hostname, Number(url.port)));
  let before = rsa();
  for (let i = 0; i < slices; i++) {
    const slice = await runLoad({
      baseUrl: server.baseUrl,
      pool,
      connections,
      durationMs: durationMs / slices,
      // Only the first slice warms up (JIT, pools, connections); later ones start warm.
      warmupMs: i === 0 ? Math.min(1000, durationMs / 4) : 0,
      latencies,
      reuse,
    });
    const after = rsa();
    const rate = (before + after) / 2;
    before = after;
    ratios.push(slice.perSecond / rate);
    rates.push(rate);
    requests += slice.requests;
    sent += slice.sent;
    errors += slice.errors;
    for (const [kind, n] of Object.entries(slice.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  }
  reuse.forEach((c) => c.close());
  const seconds = durationMs / 1000;
  return {
    result: {
      requests,
      sent,
      errors,
      seconds,
      perSecond: requests / seconds,
      ...latencySummary(latencies),
      errorKinds,
    },
    rsaPerSecond: median(rates),
    ofRsa: median(ratios),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function poolFor(server: BenchServer, scenario: Scenario, maxConnections: number): Promise<PoolEntry[]> {
  if (scenario === 'ping') return pingPool(server, 1024);
  // Four tokens per connection keep row-lock collisions rare; at least 64 tokens.
  const tokens = Math.min(512, Math.max(64, maxConnections * 4));
  return exchangePool(server, tokens, Math.max(2, Math.ceil(1024 / tokens)));
}

export function formatCase(c: BenchCase): string {
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
  return [
    c.scenario.padEnd(8),
    `audit ${c.audit ? 'on ' : 'off'}`,
    `${String(c.connections).padStart(3)} conns`,
    `${c.perSecond.toFixed(0).padStart(6)} req/s`,
    `p50 ${c.p50Ms.toFixed(1)} ms`,
    `p90 ${c.p90Ms.toFixed(1)} ms`,
    `p99 ${c.p99Ms.toFixed(1)} ms`,
    `errors ${c.errors}${c.errors ? ` ${JSON.stringify(c.errorKinds)}` : ''}`,
    `${pct(c.ofRsaCapacity)} of RSA×workers (RSA ${c.rsaPerSecond.toFixed(0)}/s)`,
    `cpu ${c.serviceCpuMsPerRequest.toFixed(2)} ms/req (RSA ${c.serviceRsaMsPerRequest.toFixed(2)}, yardstick ${(1000 / c.rsaPerSecond).toFixed(2)})`,
    `${c.queriesPerRequest.toFixed(1)} SQL/req`,
  ].join('  ');
}

export function formatReport(r: BenchReport): string {
  const lines = [
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; load average ${r.machine.loadBefore.toFixed(1)} before, ${r.machine.loadAfter.toFixed(1)} after`,
    `database: ${r.database}${r.note ? ` (${r.note})` : ''}; service workers: ${r.workers}`,
    r.cpus
      ? `CPUs: service ${r.cpus.service}, load generator ${r.cpus.client} (${
          r.databaseProcessesPinned > 0
            ? `${r.databaseProcessesPinned} local PostgreSQL processes on CPU ${r.cpus.client}`
            : 'PostgreSQL unpinned'
        })`
      : 'CPUs: not pinned; the load generator and the database share the cores with the service',
    `RSA-OAEP-2048 private decrypts/s, one core, mean over cases: ${r.rsaPerSecondOneCore.toFixed(0)} (× ${r.workers} workers = ${(r.rsaPerSecondOneCore * r.workers).toFixed(0)})`,
    '',
    ...r.cases.map(formatCase),
    '',
    ...r.auditRatios.map(
      (a) => `audit on / off, ${a.scenario}, ${a.connections} conns: ${(a.ratio * 100).toFixed(0)}%`,
    ),
  ];
  return lines.join('\n');
}
