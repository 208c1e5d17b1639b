import { exchangePool, pingPool, startBenchServer } from './harness';
import { runLoad, type PoolEntry } from './load';

export interface SoakOptions {
  readonly databaseUrl: string | undefined;
  readonly minutes: number;
  /** Requests per second offered in total (open loop, paced per connection). */
  readonly rate: number;
  /** Seconds between memory samples. */
  readonly sampleSeconds: number;
  readonly progress?: (line: string) => void;
}

export interface SoakSample {
  readonly atSeconds: number;
  readonly perSecond: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly rssMb: number;
  readonly heapMb: number;
}

export interface SoakReport {
  readonly database: 'postgres' | 'pglite';
  readonly minutes: number;
  readonly rate: number;
  readonly requests: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  readonly samples: readonly SoakSample[];
  /** Heap (after GC) and RSS of the last third of the run over the first sample after warm-up. */
  readonly heapGrowth: number;
  readonly rssGrowth: number;
  /** No errors, and live heap within 25% (or 8 MB) of where it settled after warm-up. */
  readonly ok: boolean;
}

const MB = 1024 * 1024;

/**
 * Runs the service (one worker, GC exposed) under a steady mixed load — pings, data_exchange
 * requests of many tokens, and rejected requests (bad signature) — for `minutes`, sampling its
 * memory after a GC every `sampleSeconds`. A leak shows as a heap that keeps climbing.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const progress = options.progress ?? (() => undefined);
  const server = await startBenchServer({
    databaseUrl: options.databaseUrl,
    audit: true,
    workers: 1,
    execArgv: ['--expose-gc'],
  });
  try {
    const pings = pingPool(server, 256);
    const exchanges = await exchangePool(server, 128, 4);
    const rejected: PoolEntry[] = pingPool(server, 64).map((e) => ({
      ...e,
      sealed: { ...e.sealed, signature: 'sha256=' + '0'.repeat(64) },
      check: (status) => status === 432,
    }));
    // 45% ping, 45% data_exchange, 10% rejected, interleaved.
    const pool: PoolEntry[] = [];
    for (let i = 0; i < 512; i++) {
      pool.push(pings[i % pings.length], exchanges[i % exchanges.length]);
      if (i % 5 === 0) pool.push(rejected[i % rejected.length]);
    }
    const samples: SoakSample[] = [];
    const errorKinds: Record<string, number> = {};
    let requests = 0;
    let errors = 0;
    const total = options.minutes * 60;
    // Enough connections that pacing, not latency, sets the rate (each paced to 5 req/s).
    const connections = Math.max(2, Math.min(64, Math.ceil(options.rate / 5)));
    for (let at = 0; at < total;) {
      const seconds = Math.min(options.sampleSeconds, total - at);
      const result = await runLoad({
        baseUrl: server.baseUrl,
        pool,
        connections,
        durationMs: seconds * 1000,
        ratePerSecond: options.rate,
      });
      at += seconds;
      const usage = await server.usage();
      requests += result.requests;
      errors += result.errors;
      for (const [k, v] of Object.entries(result.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
      const sample: SoakSample = {
        atSeconds: at,
        perSecond: result.perSecond,
        p99Ms: result.p99Ms,
        errors: result.errors,
        rssMb: usage.rss / MB,
        heapMb: usage.heapUsed / MB,
      };
      samples.push(sample);
      progress(formatSample(sample));
    }
    const settled = samples[Math.min(samples.length - 1, Math.max(1, Math.floor(samples.length / 5)))];
    const tail = samples.slice(Math.floor((samples.length * 2) / 3));
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const heapTail = median(tail.map((s) => s.heapMb));
    const rssTail = median(tail.map((s) => s.rssMb));
    const heapGrowth = heapTail / settled.heapMb - 1;
    const rssGrowth = rssTail / settled.rssMb - 1;
    return {
      database: options.databaseUrl ? 'postgres' : 'pglite',
      minutes: options.minutes,
      rate: options.rate,
      requests,
      errors,
      errorKinds,
      samples,
      heapGrowth,
      rssGrowth,
      ok: errors === 0 && (heapGrowth <= 0.25 || heapTail - settled.heapMb <= 8),
    };
  } finally {
    await server.stop();
  }
}

export function formatSample(s: SoakSample): string {
  return [
    `${String(Math.round(s.atSeconds)).padStart(5)} s`,
    `${s.perSecond.toFixed(0).padStart(5)} req/s`,
    `p99 ${s.p99Ms.toFixed(1).padStart(7)} ms`,
    `errors ${s.errors}`,
    `rss ${s.rssMb.toFixed(1)} MB`,
    `heap ${s.heapMb.toFixed(1)} MB`,
  ].join('  ');
}

export function formatSoak(r: SoakReport): string {
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  return [
    `soak: ${r.minutes} min at ${r.rate} req/s offered, ${r.database}; ${r.requests} requests, ${r.errors} errors` +
      (r.errors ? ` ${JSON.stringify(r.errorKinds)}` : ''),
    `memory after warm-up → last third (median): heap ${pct(r.heapGrowth)}, rss ${pct(r.rssGrowth)}`,
    r.ok ? 'verdict: flat memory, no errors' : 'verdict: FAILED (errors, or heap kept growing)',
  ].join('\n');
}
