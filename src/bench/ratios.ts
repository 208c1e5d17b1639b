import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import knexFactory, { type Knex } from 'knex';
import { startBareServer, type BareServer } from './bare-server';
import { planCpus, pinProcess, type CpuPlan } from './cpu-pinning';
import { exchangePool, pingPool, startBenchServer, type BenchServer } from './harness';
import { latencySummary, runLoad, type PoolEntry } from './load';
import { RawConnection } from './raw-connection';

/** What one round measures, in this order (rotated each round so drift does not favour one). */
export type RatioCase = 'bare' | 'ping' | 'exchange';

export interface RatioOptions {
  readonly databaseUrl: string | undefined;
  readonly rounds: number;
  readonly durationMs: number;
  readonly connections: number;
  readonly workers: number;
  readonly progress?: (line: string) => void;
}

export interface RatioSample {
  readonly round: number;
  readonly kind: RatioCase;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Server CPU per request (all workers), ms. */
  readonly nodeCpuMs: number;
  /** CPU of the service's PostgreSQL backends per request, ms; undefined when not measurable (remote, PGlite). */
  readonly databaseCpuMs: number | undefined;
  readonly queriesPerRequest: number | undefined;
}

export interface RatioReport {
  readonly database: 'postgres' | 'pglite';
  readonly workers: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly cpus: CpuPlan | undefined;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly samples: readonly RatioSample[];
}

/**
 * Interleaved rounds against the bare decrypt-and-answer server (src/bench/bare-server.ts): each
 * round loads the bare server with pings, then flowgate (durable audit on) with pings and with
 * data_exchange requests of the example flow, the order rotating per round. A ratio is taken within
 * one round — two runs seconds apart on a machine other people share are the only fair pair — and
 * the report gives the median and the spread of those ratios over the rounds.
 */
export async function runRatios(options: RatioOptions): Promise<RatioReport> {
  const progress = options.progress ?? (() => undefined);
  const loadBefore = loadavg()[0] ?? 0;
  const plan = planCpus(options.workers, cpus().length);
  if (plan) pinProcess(process.pid, plan.client);
  const flowgate = await startBenchServer({
    databaseUrl: options.databaseUrl,
    audit: true,
    workers: options.workers,
    cpus: plan?.service,
  });
  let bare: BareServer | undefined;
  const backends = options.databaseUrl ? new BackendCpu(options.databaseUrl, flowgate.schema as string) : undefined;
  try {
    bare = await startBareServer({
      privateKeyPem: flowgate.privateKeyPem,
      workers: options.workers,
      cpus: plan?.service,
    });
    const pings = pingPool(flowgate, 1024);
    const exchanges = await exchangePool(flowgate, Math.min(512, Math.max(64, options.connections * 4)), 4);
    const samples: RatioSample[] = [];
    const order: RatioCase[] = ['bare', 'ping', 'exchange'];
    for (let round = 1; round <= options.rounds; round++) {
      const rotated = order.map((_, i) => order[(i + round - 1) % order.length]);
      for (const kind of rotated) {
        const sample = await measure(
          kind,
          round,
          kind === 'bare' ? bare : flowgate,
          kind === 'exchange' ? exchanges : pings,
          options,
          backends,
        );
        samples.push(sample);
        progress(formatSample(sample));
      }
    }
    return {
      database: options.databaseUrl ? 'postgres' : 'pglite',
      workers: options.workers,
      connections: options.connections,
      durationMs: options.durationMs,
      cpus: plan,
      loadBefore,
      loadAfter: loadavg()[0] ?? 0,
      samples,
    };
  } finally {
    await backends?.close();
    await bare?.stop();
    await flowgate.stop();
  }
}

async function measure(
  kind: RatioCase,
  round: number,
  server: BenchServer | BareServer,
  pool: readonly PoolEntry[],
  options: RatioOptions,
  backends: BackendCpu | undefined,
): Promise<RatioSample> {
  const url = new URL(server.baseUrl);
  const reuse = Array.from({ length: options.connections }, () => new RawConnection(url.hostname, Number(url.port)));
  // Warm-up on the same connections (JIT, pools, prepared statements), not counted.
  await runLoad({ baseUrl: server.baseUrl, pool, connections: options.connections, durationMs: 500, reuse });
  const flowgate = 'usage' in server ? server : undefined;
  const before = flowgate
    ? await flowgate.usage()
    : { cpuMicros: await (server as BareServer).cpuMicros(), queries: 0 };
  const dbBefore = flowgate ? await backends?.snapshot() : undefined;
  const latencies: number[] = [];
  const result = await runLoad({
    baseUrl: server.baseUrl,
    pool,
    connections: options.connections,
    durationMs: options.durationMs,
    latencies,
    reuse,
  });
  const dbAfter = flowgate ? await backends?.snapshot() : undefined;
  const after = flowgate ? await flowgate.usage() : { cpuMicros: await (server as BareServer).cpuMicros(), queries: 0 };
  reuse.forEach((c) => c.close());
  const sent = Math.max(1, result.sent);
  const summary = latencySummary(latencies);
  return {
    round,
    kind,
    perSecond: result.perSecond,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    errors: result.errors,
    nodeCpuMs: (after.cpuMicros - before.cpuMicros) / 1000 / sent,
    databaseCpuMs: dbBefore && dbAfter ? BackendCpu.delta(dbBefore, dbAfter) / sent : undefined,
    queriesPerRequest: flowgate ? (after.queries - before.queries) / sent : undefined,
  };
}

/**
 * CPU time of the PostgreSQL backends serving the bench's flowgate, read from /proc when the
 * database runs on this host: the bench server connects with its schema as application_name
 * (src/bench/harness.ts), which tells its backends apart from anyone else's on a shared server.
 */
class BackendCpu {
  readonly #knex: Knex;
  readonly #name: string;
  readonly #tick = clockTickMs();

  constructor(url: string, applicationName: string) {
    this.#knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    this.#name = applicationName;
  }

  /** pid → CPU ms so far, of each backend; undefined when /proc does not show them (a remote server). */
  async snapshot(): Promise<Map<number, number> | undefined> {
    const result = (await this.#knex.raw('SELECT pid FROM pg_stat_activity WHERE application_name = ?', [
      this.#name,
    ])) as { rows: { pid: number }[] };
    const cpu = new Map<number, number>();
    for (const { pid } of result.rows) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * this.#tick);
      } catch {
        return undefined;
      }
    }
    return cpu;
  }

  /** CPU ms spent between two snapshots (a backend started in between counts from zero). */
  static delta(before: Map<number, number>, after: Map<number, number>): number {
    let ms = 0;
    for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
    return ms;
  }

  close(): Promise<void> {
    return this.#knex.destroy();
  }
}

function clockTickMs(): number {
  const run = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(run.stdout?.trim());
  return 1000 / (Number.isFinite(hz) && hz > 0 ? hz : 100);
}

export function formatSample(s: RatioSample): string {
  return [
    `round ${s.round}`,
    s.kind.padEnd(8),
    `${s.perSecond.toFixed(0).padStart(6)} req/s`,
    `p50 ${s.p50Ms.toFixed(1)} ms`,
    `p99 ${s.p99Ms.toFixed(1)} ms`,
    `cpu node ${s.nodeCpuMs.toFixed(2)} ms/req`,
    s.databaseCpuMs === undefined ? '' : `postgres ${s.databaseCpuMs.toFixed(2)} ms/req`,
    s.queriesPerRequest === undefined ? '' : `${s.queriesPerRequest.toFixed(2)} SQL/req`,
    `errors ${s.errors}`,
  ]
    .filter(Boolean)
    .join('  ');
}

/** The targets (data_exchange and audited ping as fractions of the bare server's rate). */
const TARGETS = { exchange: 0.4, ping: 0.75, p99Ms: 40, cpuMs: 1.0 } as const;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const spread = (values: readonly number[], digits: number): string =>
  `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;

/** The ratio table: medians over rounds with [min–max], and each target met or not. */
export function formatRatios(r: RatioReport): string {
  const of = (kind: RatioCase): RatioSample[] => r.samples.filter((s) => s.kind === kind);
  const ratio = (kind: 'ping' | 'exchange'): number[] =>
    of(kind).map((s) => s.perSecond / (of('bare').find((b) => b.round === s.round)?.perSecond ?? NaN));
  const row = (label: string, kind: RatioCase): string => {
    const s = of(kind);
    const cpu = s.map((x) => x.nodeCpuMs + (x.databaseCpuMs ?? 0));
    return [
      label.padEnd(26),
      spread(
        s.map((x) => x.perSecond),
        0,
      ).padEnd(22),
      (kind === 'bare' ? '1' : spread(ratio(kind), 2)).padEnd(20),
      spread(
        s.map((x) => x.p99Ms),
        1,
      ).padEnd(22),
      spread(
        s.map((x) => x.nodeCpuMs),
        2,
      ).padEnd(20),
      (s.every((x) => x.databaseCpuMs !== undefined)
        ? spread(
            s.map((x) => x.databaseCpuMs ?? 0),
            2,
          )
        : '-'
      ).padEnd(20),
      kind === 'bare' ? '-' : spread(cpu, 2),
    ].join(' ');
  };
  const exchange = of('exchange');
  const exchangeCpu = exchange.map((x) => x.nodeCpuMs + (x.databaseCpuMs ?? 0));
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const errors = r.samples.reduce((n, s) => n + s.errors, 0);
  return [
    `database: ${r.database}; workers: ${r.workers}; ${r.connections} connections; ${r.samples.length / 3} interleaved rounds of ${r.durationMs / 1000} s per case; load average ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after`,
    r.cpus
      ? `CPUs: service ${r.cpus.service}, load generator ${r.cpus.client}`
      : 'CPUs: shared by service, load generator and database',
    'median [min–max] over rounds; a ratio is flowgate ÷ bare server within the same round',
    '',
    [
      'case'.padEnd(26),
      'req/s'.padEnd(22),
      '× bare'.padEnd(20),
      'p99 ms'.padEnd(22),
      'node cpu ms/req'.padEnd(20),
      'postgres cpu ms/req'.padEnd(20),
      'total cpu ms/req',
    ].join(' '),
    row('bare decrypt-and-answer', 'bare'),
    row('ping, audit on', 'ping'),
    row('data_exchange, audit on', 'exchange'),
    '',
    `data_exchange ≥ ${TARGETS.exchange} × bare: ${met(median(ratio('exchange')) >= TARGETS.exchange)} (${median(ratio('exchange')).toFixed(2)})`,
    `audited ping ≥ ${TARGETS.ping} × bare: ${met(median(ratio('ping')) >= TARGETS.ping)} (${median(ratio('ping')).toFixed(2)})`,
    `data_exchange p99 ≤ ${TARGETS.p99Ms} ms at ${r.connections} conns: ${met(median(exchange.map((x) => x.p99Ms)) <= TARGETS.p99Ms)} (${median(exchange.map((x) => x.p99Ms)).toFixed(1)} ms)`,
    exchange.every((x) => x.databaseCpuMs !== undefined)
      ? `data_exchange CPU (node + postgres) ≤ ${TARGETS.cpuMs} ms: ${met(median(exchangeCpu) <= TARGETS.cpuMs)} (${median(exchangeCpu).toFixed(2)} ms)`
      : 'data_exchange CPU (node + postgres): postgres not measurable here (not on this host, or PGlite)',
    `SQL statements per request: ping ${median(of('ping').map((x) => x.queriesPerRequest ?? 0)).toFixed(2)}, data_exchange ${median(exchange.map((x) => x.queriesPerRequest ?? 0)).toFixed(2)}`,
    `errors: ${errors}`,
  ].join('\n');
}
