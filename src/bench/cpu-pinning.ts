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

/** The parent pid in a /proc/<pid>/stat line ("42 (postgres: x) S 7 …"); undefined if unreadable. */
export function parentPidOf(stat: string): number | undefined {
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/** The parent of `pid` on this host (Linux /proc); undefined when there is no such process. */
export function parentOf(pid: number, proc = '/proc'): number | undefined {
  try {
    return parentPidOf(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The command name of `pid` on this host ("postgres"); undefined when there is no such process. */
export function commandOf(pid: number, proc = '/proc'): string | undefined {
  try {
    return readFileSync(`${proc}/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `pid` and its children on this host (Linux /proc), in pid order. */
export function processTree(pid: number, proc = '/proc'): number[] {
  const pids = [pid];
  for (const entry of readdirSync(proc)) {
    if (/^[0-9]+$/.test(entry) && parentOf(Number(entry), proc) === pid) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

/**
 * Moves one PostgreSQL server — its postmaster, so that backends it forks later inherit the
 * list, and its running children — onto `cpus`, and returns how many moved and a function that
 * puts each back: its own old list, or the postmaster's for children forked during the run. Only
 * that server is touched, never another cluster on the host. For `npm run bench --
 * --pin-database`: on a small host that also runs PostgreSQL, the scheduler otherwise puts
 * backends on the service's core, and each such visit stalls every request in flight (measured
 * here in one-second slices of data_exchange at 16 connections: p99 45–55 ms unpinned, 22–25 ms
 * pinned).
 */
export function pinDatabaseProcesses(cpus: string, postmaster: number): { moved: number; restore: () => void } {
  const before = new Map<number, string>();
  for (const pid of processTree(postmaster)) {
    const list = affinityOf(pid);
    if (list !== undefined && pinProcess(pid, cpus)) before.set(pid, list);
  }
  const postmasterList = before.get(postmaster);
  return {
    moved: before.size,
    restore: () => {
      for (const pid of processTree(postmaster)) {
        const list = before.get(pid) ?? postmasterList;
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
