import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  affinityOf,
  commandOf,
  hasTaskset,
  parentOf,
  parentPidOf,
  parseAffinity,
  pinDatabaseProcesses,
  processTree,
} from '../../src/bench/cpu-pinning';
import { runCli } from '../helpers/cli';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  children.forEach((c) => c.kill('SIGKILL'));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-pin-'));
  dirs.push(dir);
  return dir;
}

describe('when taskset prints a CPU list', () => {
  it.each([
    ["pid 42's current affinity list: 0,1\n", '0,1'],
    ["pid 7's current affinity list: 0-3,6", '0-3,6'],
    ["pid 7's current affinity list: 2", '2'],
    ['taskset: failed to get pid 7 affinity: No such process', undefined],
    ["pid 7's current affinity list: 0;rm -rf /", undefined],
  ])('then %j reads as %j', (output, list) => {
    expect(parseAffinity(output)).toBe(list);
  });
});

describe('when a process tree is read from /proc', () => {
  it('then the parent comes from the stat line, whatever the command name holds', () => {
    expect(parentPidOf('42 (postgres) S 7 42 42 0 -1')).toBe(7);
    expect(parentPidOf('43 (postgres: user db 127.0.0.1(5) idle) S 7 43 43 0 -1')).toBe(7);
    expect(parentPidOf('44 (a) b) R 1 44 44')).toBe(1);
    expect(parentPidOf('garbage')).toBeUndefined();
  });

  it('then a tree is the process and its children only, and commands and parents read back', () => {
    const proc = tempDir();
    const entry = (pid: number, comm: string, ppid: number): void => {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
      writeFileSync(join(proc, String(pid), 'stat'), `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1`);
    };
    entry(7, 'postgres', 1);
    entry(12, 'postgres', 7);
    entry(9, 'postgres', 7);
    entry(30, 'postgres', 1); // another cluster's postmaster
    entry(31, 'postgres', 30);
    mkdirSync(join(proc, 'self'));
    expect(processTree(7, proc)).toEqual([7, 9, 12]);
    expect(parentOf(12, proc)).toBe(7);
    expect(parentOf(99, proc)).toBeUndefined();
    expect(commandOf(9, proc)).toBe('postgres');
    expect(commandOf(99, proc)).toBeUndefined();
  });
});

const canPin = hasTaskset() && cpus().length > 1;
(canPin ? describe : describe.skip)('when the bench pins a database server', () => {
  it('then it and its children move to the given CPUs, others do not, and all go back afterwards', async () => {
    // A parent with two children, like a postmaster with backends; and a bystander.
    const tree = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    const bystander = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    children.push(tree, bystander);
    const root = tree.pid as number;
    for (let i = 0; i < 100 && processTree(root).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const members = processTree(root);
    expect(members).toHaveLength(3);
    const original = members.map((pid) => affinityOf(pid));
    const bystanderBefore = affinityOf(bystander.pid as number);

    const pinned = pinDatabaseProcesses('1', root);
    expect(pinned.moved).toBe(3);
    expect(members.map((pid) => affinityOf(pid))).toEqual(['1', '1', '1']);
    expect(affinityOf(bystander.pid as number)).toBe(bystanderBefore);
    pinned.restore();
    expect(members.map((pid) => affinityOf(pid))).toEqual(original);
  });
});

describe('when `npm run bench` is asked to pin the database wrongly', () => {
  it.each([
    [{}, ['--pin-database'], '--pin-database needs DATABASE_URL'],
    [
      { DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      ['--pin-database', '--workers', String(cpus().length)],
      'fewer --workers than cores',
    ],
  ])('then %j %j exits 2 before starting anything', async (env, args, message) => {
    const r = await runCli('bench', args, { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: npm run bench');
  });
});
