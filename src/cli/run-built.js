'use strict';
// `npm run <cli> -- …` (package.json scripts): runs dist/src/cli/<cli>.js, building first only when
// something the build reads is newer than its last build. A no-op build still costs over a second
// (npm, the flow-type generator and tsc each load before finding nothing to do); a look at the
// files' times costs milliseconds. When in doubt it builds, exactly as `npm run build` does.
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { constants } = require('node:os');

const root = join(__dirname, '..', '..');
// Written after each build this script ran, dated when that build started (a file changed during
// the build is newer, so the next run builds again). tsc's own build info is no such record: a
// build that finds nothing to compile leaves it as it was.
const stamp = join(root, 'dist', '.run-built');

/** The latest modification time of anything under `path` (a file or a folder). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted file shows only as its folder's change
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

function stale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  const inputs = ['src', 'schemas', 'package.json', 'package-lock.json', 'tsconfig.json'];
  return inputs.some((input) => newest(join(root, input)) > built);
}

function build() {
  const started = new Date();
  const steps = [
    [join(root, 'src', 'flow-types', 'run.js'), '--quiet'],
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'src', 'tsconfig.build.json')],
  ];
  for (const args of steps) {
    const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
  writeFileSync(stamp, '');
  utimesSync(stamp, started, started);
}

const [name, ...args] = process.argv.slice(2);
const cli = join(root, 'dist', 'src', 'cli', `${name}.js`);
if (!name || !existsSync(join(root, 'src', 'cli', `${name}.ts`))) {
  process.stderr.write(`run-built: no command src/cli/${name ?? ''}.ts\n`);
  process.exit(2);
}
if (stale()) build();

// A child of its own, so the command is its process's main module and owns stdin and the terminal;
// signals meant for it (Ctrl-C reaches both, a SIGTERM only us) end it, and its exit is ours.
const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT') child.kill(signal);
  });
}
child.on('exit', (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
