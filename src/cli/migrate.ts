import { loadConfig } from '../config';
import { migrateLatest, migrateRollback, migrationConfig, openDatabase } from '../storage';
import { exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run migrate -- [latest | rollback [--all] | status]

  latest     apply every pending migration (default; npm start does this too)
  rollback   undo the last batch of migrations (--all: every migration)
  status     list applied and pending migrations

Uses DATABASE_URL / DATABASE_SCHEMA, or the embedded database in PGLITE_DATA_DIR.`;

export async function migrateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { all: { type: 'boolean' } });
  const action = positionals[0] ?? 'latest';
  if (!['latest', 'rollback', 'status'].includes(action) || positionals.length > 1) {
    throw new UsageError(`unknown action "${positionals.join(' ')}"`);
  }
  if (values.all && action !== 'rollback') throw new UsageError('--all goes with rollback');
  const config = loadConfig();
  const database = await openDatabase(config.database);
  try {
    if (action === 'latest') {
      const applied = await migrateLatest(database);
      io.out(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
    } else if (action === 'rollback') {
      const undone = await migrateRollback(database, values.all === true);
      io.out(undone.length > 0 ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
    } else {
      await database.knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [database.schema]);
      const [done, pending] = (await database.knex.migrate.list(migrationConfig(database))) as [
        { name: string }[],
        { file: string }[],
      ];
      done.forEach((m) => io.out(`applied  ${m.name}`));
      pending.forEach((m) => io.out(`pending  ${m.file}`));
    }
  } finally {
    await database.close();
  }
  return 0;
}

if (require.main === module) exitWith(runCommand(USAGE, migrateCommand));
