import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  affinityOf,
  hasTaskset,
  parseAffinity,
  pinDatabaseProcesses,
  processesNamed,
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

describe('when processes are looked up by command name', () => {
  it('then only numeric entries whose comm matches are returned, and unreadable ones are skipped', () => {
    const proc = tempDir();
    const entry = (name: string, comm?: string): void => {
      mkdirSync(join(proc, name));
      if (comm !== undefined) writeFileSync(join(proc, name, 'comm'), comm);
    };
    entry('12', 'postgres\n');
    entry('3', 'postgres\n');
    entry('13', 'node\n');
    entry('14');
    entry('self', 'postgres\n');
    entry('15', 'postgres-exporter\n');
    expect(processesNamed('postgres', proc)).toEqual([3, 12]);
  });
});

const canPin = hasTaskset() && cpus().length > 1;
(canPin ? describe : describe.skip)('when the bench pins database processes', () => {
  it('then they move to the given CPUs and go back to their own lists afterwards', async () => {
    // A process whose command name is unique to this test: a symlink to sleep, named like a server.
    const dir = tempDir();
    const name = `fgpin${process.pid}`.slice(0, 15);
    symlinkSync('/bin/sleep', join(dir, name));
    const child = spawn(join(dir, name), ['30'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid as number;
    for (let i = 0; i < 50 && !processesNamed(name).includes(pid); i++) await new Promise((r) => setTimeout(r, 20));
    const original = affinityOf(pid);
    expect(original).toBeDefined();

    const pinned = pinDatabaseProcesses('1', name);
    expect(pinned.moved).toBe(1);
    expect(affinityOf(pid)).toBe('1');
    pinned.restore();
    expect(affinityOf(pid)).toBe(original);
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
