import { queryAuditEvents, verifyAuditLog } from '../audit';
import { formatAuditRows, subjectRefsOfPhone, type AuditFormat } from '../compliance';
import { loadConfig, loadDatabaseConfig } from '../config';
import { isPermissionDenied, openDatabase, type Database } from '../storage';
import {
  actionOf,
  OutputFile,
  parseChoiceArg,
  parseDateArg,
  parseIntegerArg,
  parsePhoneArg,
  parseTextArg,
} from './args';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run audit -- <action> [options]

  verify
      recomputes every hash chain; prints each chain's length and last hash (keep those outside
      the database: they also expose a rewrite of a whole chain). Exit 1 at the first broken link,
      naming its chain and seq.
  query [--flow ID] [--from ISO] [--to ISO] [--outcome O] [--kind request|compliance]
        [--phone +E164] [--limit N] [--format table|csv|json] [--out FILE]
      audit events, oldest first. --from is inclusive, --to exclusive; dates are ISO 8601
      (2026-11-29 or 2026-11-29T13:00:00Z; no offset means UTC). --phone finds the person's
      events through their pseudonym (needs the service's SUBJECT_HASH_KEY and access to the
      subjects table). CSV cells that a spreadsheet would run as formulas are prefixed with '.
      --limit defaults to 10000. --out files are created with mode 0600 and never overwritten.

Reads only: works with the read-only flowgate_compliance role (except --phone), and needs only
the database settings (DATABASE_URL, DATABASE_SCHEMA or PGLITE_DATA_DIR; --phone also needs the
service's configuration for SUBJECT_HASH_KEY). Exit codes:
0 done (verify: chain intact), 1 failed (verify: chain broken), 2 wrong usage.`;

export async function auditCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    flow: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    outcome: { type: 'string' },
    kind: { type: 'string' },
    phone: { type: 'string' },
    limit: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  });
  const action = actionOf(positionals, ['verify', 'query'] as const);
  if (action === 'verify') {
    const extra = Object.keys(values);
    if (extra.length > 0) throw new UsageError(`--${extra[0]} does not go with verify`);
    return withDatabase((db) => verify(db, io));
  }

  const from = values.from === undefined ? undefined : parseDateArg(values.from, '--from');
  const to = values.to === undefined ? undefined : parseDateArg(values.to, '--to');
  if (from && to && from.getTime() >= to.getTime()) throw new UsageError('--from must be earlier than --to');
  const query = {
    flowId: values.flow === undefined ? undefined : parseTextArg(values.flow, '--flow', 100),
    outcome: values.outcome === undefined ? undefined : parseTextArg(values.outcome, '--outcome', 100),
    kind:
      values.kind === undefined ? undefined : parseChoiceArg(values.kind, '--kind', ['request', 'compliance'] as const),
    from,
    to,
    limit: values.limit === undefined ? 10_000 : parseIntegerArg(values.limit, '--limit', 1, 1_000_000),
  };
  const phone = values.phone === undefined ? undefined : parsePhoneArg(values.phone);
  const format: AuditFormat =
    values.format === undefined
      ? 'table'
      : parseChoiceArg(values.format, '--format', ['table', 'csv', 'json'] as const);
  const out = values.out === undefined ? undefined : OutputFile.open(values.out);
  try {
    // Only --phone needs a secret (SUBJECT_HASH_KEY, hence the full configuration); the rest needs
    // the database settings alone.
    const subjectHashKey = phone === undefined ? undefined : loadConfig().subjectHashKey.reveal();
    await withDatabase(async (db) => {
      const subjectRefs =
        phone === undefined
          ? undefined
          : await subjectRefsOfPhone(db.knex, phone, subjectHashKey as string).catch((err: unknown) => {
              throw isPermissionDenied(err)
                ? new CommandError(
                    '--phone needs read access to the subjects table (the per-person salts), which the ' +
                      'read-only flowgate_compliance role does not have by design; ask an administrator to ' +
                      "run this query with the service's database user",
                  )
                : err;
            });
      const rows = await queryAuditEvents(db.knex, { ...query, subjectRefs });
      const text = formatAuditRows(rows, format);
      if (out) {
        out.write(text);
        io.err(`${rows.length} row(s) written to ${out.path}`);
      } else io.out(text.replace(/\r?\n$/, ''));
      if (rows.length === query.limit)
        io.err(`warning: stopped at --limit ${query.limit}; narrow the query or raise it`);
      return 0;
    });
    out?.close();
  } catch (err) {
    out?.discard();
    throw err;
  }
  return 0;
}

async function verify(db: Database, io: Io): Promise<number> {
  const report = await verifyAuditLog(db.knex);
  for (const chain of report.chains) {
    io.out(`chain ${chain.chain}: ${chain.rows} row(s), last hash ${chain.lastHash}${chain.broken ? '  BROKEN' : ''}`);
  }
  const total = report.chains.reduce((n, c) => n + c.rows, 0);
  if (report.firstBroken) {
    const b = report.firstBroken;
    io.err(`audit log BROKEN at chain ${b.chain} seq ${b.seq}: ${b.reason}`);
    const others = report.chains.filter((c) => c.broken && c.chain !== b.chain).map((c) => c.chain);
    if (others.length > 0) io.err(`also broken: chain(s) ${others.join(', ')}`);
    return 1;
  }
  io.out(`audit log intact: ${report.chains.length} chain(s), ${total} event(s)`);
  return 0;
}

/**
 * A database connection without migrations or writes, so the read-only compliance role can run
 * these commands; a schema without the audit tables is a clear error, not a SQL one.
 */
async function withDatabase(fn: (db: Database) => Promise<number>): Promise<number> {
  const db = await openDatabase(loadDatabaseConfig());
  try {
    const found = (await db.knex.raw("SELECT to_regclass('audit_events') AS t, to_regclass('audit_chain_heads') AS h"))
      .rows as { t: unknown; h: unknown }[];
    if (!found[0]?.t || !found[0]?.h)
      throw new CommandError(
        `no audit log in schema "${db.schema}" of the ${db.kind === 'pglite' ? 'embedded' : 'PostgreSQL'} database ` +
          '(run `npm run migrate`, or check DATABASE_URL / DATABASE_SCHEMA / PGLITE_DATA_DIR)',
      );
    return await fn(db);
  } finally {
    await db.close();
  }
}

if (require.main === module) exitWith(runCommand(USAGE, auditCommand));
