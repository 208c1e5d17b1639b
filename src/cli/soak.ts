import { formatSoak, runSoak } from '../bench';
import { loadVariables } from '../config';
import { exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run soak -- [--minutes N] [--rate R] [--sample S] [--json]

Runs flowgate on a loopback port in a child process (one worker, audit on) under a steady mixed
load — pings, data_exchange requests of the example flow, and requests refused for a bad
signature — and samples its memory (after a GC) and errors over time. Exit code 1 on any error or
when the heap keeps growing. Uses DATABASE_URL (a throwaway schema) or the embedded PGlite.

  --minutes N   duration, 0.1 to 240 (default 5)
  --rate R      requests per second offered, 1 to 2000 (default 50)
  --sample S    seconds between samples (default: a twentieth of the run, 5 to 60)
  --json        print the report as JSON`;

export async function soakCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    minutes: { type: 'string' },
    rate: { type: 'string' },
    sample: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const minutes = Number(values.minutes ?? '5');
  if (!(minutes >= 0.1 && minutes <= 240)) throw new UsageError('--minutes must be 0.1 to 240');
  const rate = Number(values.rate ?? '50');
  if (!(rate >= 1 && rate <= 2000)) throw new UsageError('--rate must be 1 to 2000');
  const sampleSeconds = values.sample
    ? Number(values.sample)
    : Math.min(60, Math.max(5, Math.round((minutes * 60) / 20)));
  if (!(sampleSeconds >= 1 && sampleSeconds <= 600)) throw new UsageError('--sample must be 1 to 600 seconds');
  const databaseUrl = loadVariables(['DATABASE_URL']).DATABASE_URL?.reveal();
  if (!databaseUrl) io.err('note: DATABASE_URL is not set; soaking the embedded PGlite database');
  const report = await runSoak({
    databaseUrl,
    minutes,
    rate,
    sampleSeconds,
    progress: values.json ? undefined : (line) => io.err(line),
  });
  io.out(values.json ? JSON.stringify(report, null, 2) : formatSoak(report));
  return report.ok ? 0 : 1;
}

if (require.main === module) exitWith(runCommand(USAGE, soakCommand));
