import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Which CPUs the service and the load generator run on, as taskset lists ("0", "1-3"). */
export interface CpuPlan {
  readonly service: string;
  readonly client: string;
}

/**
 * With fewer workers than cores, the service gets cores of its own (0 … workers−1) and the load
 * generator the rest, so neither takes CPU from the other and "req/s per core in use" means what
 * it says. Needs taskset (util-linux); without it, or with a worker on every core, nothing is
 * pinned and the report says so.
 */
export function planCpus(workers: number, cores: number): CpuPlan | undefined {
  if (workers >= cores || !hasTaskset()) return undefined;
  return { service: range(0, workers - 1), client: range(workers, cores - 1) };
}

/** Sets the CPU affinity of every thread of `pid`; false when taskset refused. */
export function pinProcess(pid: number, cpus: string): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Runs `fn` with this process on `cpus` (the service's), then puts it back on `back`. */
export function onCpus<T>(plan: CpuPlan | undefined, fn: () => T): T {
  if (!plan) return fn();
  pinProcess(process.pid, plan.service);
  try {
    return fn();
  } finally {
    pinProcess(process.pid, plan.client);
  }
}

/** The CPU list of `pid` ("0,1", "0-3"); undefined when it cannot be read. */
export function affinityOf(pid: number): string | undefined {
  const run = spawnSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' });
  return run.status === 0 ? parseAffinity(run.stdout) : undefined;
}

/** taskset's "pid 42's current affinity list: 0,1" → "0,1". */
export function parseAffinity(output: string): string | undefined {
  const match = /affinity list:\s*([0-9][0-9,-]*)\s*$/.exec(output.trim());
  return match?.[1];
}

/** Processes of this host whose command name is `name` (Linux /proc), this one excepted. */
export function processesNamed(name: string, proc = '/proc'): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`${proc}/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids.sort((a, b) => a - b);
}

/**
 * Moves this host's PostgreSQL server processes (command name "postgres": the postmaster, so the
 * backends it forks later inherit it, and every running process) onto `cpus`, and returns how
 * many moved and a function that puts each back where it was. Backends forked during the run go
 * back to the first process's old list (the lowest pid, normally the postmaster's). For `npm run bench -- --pin-database`: on a small host that
 * also runs PostgreSQL, the scheduler otherwise puts backends on the service's core, and each such
 * visit stalls every request in flight (measured here: p99 of data_exchange 45–55 ms unpinned,
 * 22–25 ms pinned, 16 connections).
 */
export function pinDatabaseProcesses(cpus: string, name = 'postgres'): { moved: number; restore: () => void } {
  const before = new Map<number, string>();
  for (const pid of processesNamed(name)) {
    const list = affinityOf(pid);
    if (list !== undefined && pinProcess(pid, cpus)) before.set(pid, list);
  }
  const fallback = before.values().next().value;
  return {
    moved: before.size,
    restore: () => {
      for (const pid of processesNamed(name)) {
        const list = before.get(pid) ?? fallback;
        if (list !== undefined) pinProcess(pid, list);
      }
    },
  };
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

function range(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}
