import { spawnSync } from 'node:child_process';

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

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

function range(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}
