import { createInterface } from 'node:readline';
import { assertValidActor, osAccount, type Actor, type ClaimedActor } from '../compliance';
import { addUser, assertAcceptablePassword, listUsers, removeUser, setPassword, USERNAME_PATTERN } from '../console';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';
import { openCliContext } from './context';

const USAGE = `Usage: npm run console -- <action> [options]

  add-user <name> [--operator NAME] [--reason TEXT]
      adds a compliance console user; the password (at least 12 characters) is read from
      standard input: typed (not shown), or the first line of a pipe.
  set-password <name> [--operator NAME] [--reason TEXT]
      replaces a user's password (same input). Signed-in sessions end at the next restart.
  remove-user <name> [--operator NAME] [--reason TEXT]
  list-users
      names, creation and last password change; never the hashes.

Runs with the service's configuration and database login (the console itself may only read
its users). Each change is recorded in the audit log with the operator (default: your OS
account) and reason. The console is served on CONSOLE_PORT (README "Compliance console").
Exit codes: 0 done, 1 failed, 2 wrong usage.`;

export async function consoleCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    operator: { type: 'string' },
    reason: { type: 'string' },
  });
  const action = positionals[0];
  if (action === undefined) throw new UsageError('an action is required');
  if (!['add-user', 'set-password', 'remove-user', 'list-users'].includes(action))
    throw new UsageError(`unknown action "${action.slice(0, 40)}"`);
  const name = positionals[1];
  if (action === 'list-users') {
    if (positionals.length > 1 || Object.keys(values).length > 0) throw new UsageError('list-users takes no arguments');
  } else if (name === undefined || positionals.length > 2) {
    throw new UsageError(`${action} needs exactly one user name`);
  } else if (!USERNAME_PATTERN.test(name)) {
    throw new UsageError('a user name is 1 to 64 letters, digits, dots, dashes or underscores');
  }
  const claimed: ClaimedActor = assertValidActor({
    operator: values.operator ?? osAccount(),
    reason: values.reason ?? 'console user management',
  });
  const actor: Actor = { ...claimed, osUser: osAccount() };
  const needsPassword = action === 'add-user' || action === 'set-password';
  const password = needsPassword ? await readPassword(io) : '';
  if (needsPassword) assertAcceptablePassword(password);

  const ctx = await openCliContext();
  try {
    const knex = ctx.database.knex;
    if (action === 'list-users') {
      const users = await listUsers(knex);
      for (const u of users)
        io.out(
          `${u.username}\tcreated ${u.createdAt.toISOString()}\tpassword set ${u.passwordChangedAt.toISOString()}`,
        );
      io.out(`(${users.length} user${users.length === 1 ? '' : 's'})`);
    } else if (action === 'add-user') {
      await addUser(knex, ctx.audit, actor, name, password);
      io.out(`added console user ${name}`);
    } else if (action === 'set-password') {
      await setPassword(knex, ctx.audit, actor, name, password);
      io.out(`password of ${name} replaced`);
    } else {
      await removeUser(knex, ctx.audit, actor, name);
      io.out(`removed console user ${name}`);
    }
    return 0;
  } finally {
    await ctx.close();
  }
}

/** The password: from a pipe, its first line; on a terminal, typed without echo. */
async function readPassword(io: Io): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const rl = createInterface({ input: stdin, terminal: false });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new CommandError('no password on standard input');
  }
  io.err('Password (not shown): ');
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(typed);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new CommandError('cancelled'));
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

if (require.main === module) exitWith(runCommand(USAGE, consoleCommand));
