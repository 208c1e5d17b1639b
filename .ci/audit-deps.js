// @ts-check
// `npm audit` at high severity, telling "vulnerable" apart from "cannot ask": some networks (this
// project's CI among them) reach the registry through a proxy that refuses the advisory endpoint's
// POST (HTTP 405).
//
//   node .ci/audit-deps.js            (CI here) an audit that cannot run is reported as SKIPPED,
//                                     with its reason, and exits 0; any real finding exits 1.
//   node .ci/audit-deps.js --strict   (release pipelines with network access) an audit that cannot
//                                     run exits 2: nothing may pass without a completed audit.
//
// Exit codes: 0 audited and clean (or skipped without --strict), 1 high or critical advisories
// found, 2 the audit could not run (with --strict; without it only when npm itself is unusable).
// Also `npm run audit:deps [-- --strict]`.
'use strict';
const { spawnSync } = require('node:child_process');

const strict = process.argv.slice(2).includes('--strict');
const unknown = process.argv.slice(2).filter((a) => a !== '--strict');
if (unknown.length > 0) {
  console.error(`usage: node .ci/audit-deps.js [--strict]  (unknown: ${unknown.join(' ')})`);
  process.exit(64);
}

/** @param {string} reason */
function cannotRun(reason) {
  if (strict) {
    console.error(`npm audit FAILED (--strict): the audit could not run: ${reason}`);
    process.exit(2);
  }
  console.log(`npm audit SKIPPED: the audit could not run: ${reason}`);
  console.log('  (use --strict where the advisory service is reachable: then this is a failure)');
  process.exit(0);
}

const run = spawnSync('npm', ['audit', '--audit-level=high', '--json'], { encoding: 'utf8', timeout: 120000 });
if (run.error) {
  const code = /** @type {NodeJS.ErrnoException} */ (run.error).code;
  if (code === 'ETIMEDOUT') cannotRun('npm audit did not finish within 120 s');
  console.error(`npm audit could not be started (${code ?? run.error.message})`);
  process.exit(2);
}
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  // npm printed no report: a broken install or npm itself, not the network. Never a pass.
  console.error('npm audit printed no JSON:', (run.stderr || '').slice(0, 500));
  process.exit(2);
}
if (report.error || report.statusCode || report.code === 'ENOAUDIT' || (report.message && !report.metadata)) {
  const detail = report.error && typeof report.error === 'object' ? report.error : {};
  const status = report.statusCode ?? detail.statusCode ?? report.code ?? detail.code ?? 'error';
  const message = [report.message, detail.summary, detail.message].find((m) => typeof m === 'string' && m !== '');
  cannotRun(`the advisory endpoint answered ${status}: ${String(message ?? 'no message').split('\n')[0]}`);
}
const counts = (report.metadata && report.metadata.vulnerabilities) || undefined;
if (!counts) cannotRun('the report has no vulnerability counts');
console.log(`npm audit: ${JSON.stringify(counts)}`);
const serious = (counts.high || 0) + (counts.critical || 0);
if (serious > 0) {
  console.error(`npm audit found ${serious} high or critical vulnerabilities; run \`npm audit\` for details`);
  process.exit(1);
}
