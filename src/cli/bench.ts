import { cpus } from 'node:os';
import { runBench, formatReport, type Scenario } from '../bench';
import { loadVariables } from '../config';
import { exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run bench -- [--duration S] [--connections 1,16,64] [--scenarios ping,exchange]
                        [--audit on,off] [--workers N] [--pin-database] [--json]

Starts flowgate on a loopback port in a child process (node:cluster, --workers processes; default
one per core with DATABASE_URL, one with PGlite) and loads it with prebuilt WhatsApp-encrypted
requests: "ping", and "exchange" (a data_exchange of the example flow book-appointment: session
read, handler, then session update and audit in one statement). With fewer workers than cores, the
service and the load generator run on separate cores (taskset). Each case alternates one-second
slices of load with the RSA-OAEP-2048 decrypt rate of one core, measured on the service's core;
prints req/s, latency percentiles, errors, the median ratio to that rate × workers, and audit
on ÷ off.

Uses DATABASE_URL (PostgreSQL; a throwaway schema, dropped afterwards) or, when unset, the
embedded PGlite database in memory (noted in the report).

  --duration S       measured seconds per case (default 10; plus up to 1 s warm-up)
  --connections L    comma-separated concurrent connections (default 1,16,64)
  --scenarios L      ping, exchange or both (default both)
  --audit L          on, off or both (default on,off)
  --workers N        service processes
  --pin-database     with fewer workers than cores: move the PostgreSQL server behind DATABASE_URL
                     (its postmaster and backends; it must run on this host) to the load
                     generator's cores for the run, as if the database had a host of its own;
                     their CPU lists are restored afterwards; needs the right to change them
  --json             print the report as JSON`;

export async function benchCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    duration: { type: 'string' },
    connections: { type: 'string' },
    scenarios: { type: 'string' },
    audit: { type: 'string' },
    workers: { type: 'string' },
    'pin-database': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const databaseUrl = loadVariables(['DATABASE_URL']).DATABASE_URL?.reveal();
  const duration = Number(values.duration ?? '10');
  if (!(duration > 0 && duration <= 600)) throw new UsageError('--duration must be 0 < S <= 600');
  const connections = (values.connections ?? '1,16,64').split(',').map(Number);
  if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1024))
    throw new UsageError('--connections takes integers from 1 to 1024');
  const scenarios = (values.scenarios ?? 'ping,exchange').split(',') as Scenario[];
  if (scenarios.some((s) => s !== 'ping' && s !== 'exchange')) throw new UsageError('--scenarios: ping, exchange');
  const audit = (values.audit ?? 'on,off').split(',').map((a) => {
    if (a !== 'on' && a !== 'off') throw new UsageError('--audit: on, off');
    return a === 'on';
  });
  const workers = values.workers ? Number(values.workers) : databaseUrl ? cpus().length : 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError('--workers takes 1 to 64');
  if (!databaseUrl && workers > 1) throw new UsageError('PGlite serves one process: --workers 1 without DATABASE_URL');
  if (!databaseUrl) io.err('note: DATABASE_URL is not set; measuring the embedded PGlite database, not PostgreSQL');
  const pinDatabase = values['pin-database'] === true;
  if (pinDatabase && (!databaseUrl || workers >= cpus().length))
    throw new UsageError('--pin-database needs DATABASE_URL and fewer --workers than cores');
  const report = await runBench({
    databaseUrl,
    durationMs: duration * 1000,
    connections,
    scenarios,
    audit,
    workers,
    pinDatabase,
    progress: values.json ? undefined : (line) => io.err(line),
  });
  io.out(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.cases.some((c) => c.errors > 0) ? 1 : 0;
}

if (require.main === module) exitWith(runCommand(USAGE, benchCommand));
