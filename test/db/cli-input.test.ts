import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbFixture, type CliResult } from '../helpers/db-fixture';

jest.setTimeout(180_000);

let f: DbFixture;
beforeAll(async () => {
  f = new DbFixture();
  await f.cli('migrate', []);
});
afterAll(async () => {
  await f.cleanup();
});

/** A usage mistake: exit 2, one `error:` line then the usage, nothing on stdout, no stack, no secret. */
function expectUsageError(r: CliResult, message: RegExp | string): void {
  expect(r.stdout).toBe('');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^error: /);
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain('Usage: npm run');
  expectNothingLeaked(r);
}

function expectNothingLeaked(r: CliResult): void {
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack frames
  for (const name of ['FLOW_TOKEN_SECRET', 'SUBJECT_HASH_KEY', 'TOKEN_API_KEY', 'META_APP_SECRET']) {
    expect(r.stderr + r.stdout).not.toContain(f.env[name] as string);
  }
  expect(r.stderr + r.stdout).not.toContain((f.env.SUBMISSION_KEYS as string).slice(3));
}

const actor = ['--operator', 'ops', '--reason', 'T-1'];

describe('when a compliance command is called wrongly', () => {
  it.each([
    [['audit'], 'give an action: verify, query'],
    [['audit', 'drop'], 'unknown action "drop"'],
    [['audit', 'verify', '--flow', 'x'], '--flow does not go with verify'],
    [['audit', 'query', '--flwo', 'x'], "Unknown option '--flwo'"],
    [['audit', 'query', '--from', '2026-02-30'], '--from must be an ISO 8601 date'],
    [['audit', 'query', '--to', 'yesterday'], '--to must be an ISO 8601 date'],
    [['audit', 'query', '--from', '2026-11-02', '--to', '2026-11-01'], '--from must be earlier than --to'],
    [['audit', 'query', '--format', 'xml'], '--format must be one of table, csv, json'],
    [['audit', 'query', '--limit', '0'], '--limit must be a whole number from 1'],
    [['audit', 'query', '--phone', '12345'], '--phone: phone number must be in E.164 form'],
    [['audit', 'query', '--flow', 'a\u001b[31mb'], '--flow must not contain control characters'],
    [['submissions'], 'give an action: decrypt, export, erase, purge, reencrypt'],
    [['submissions', 'decrypt', 'not-a-uuid', ...actor], 'the submission id must be a UUID'],
    [['submissions', 'decrypt', '3f2b0000-0000-0000-0000-000000000000'], 'decrypt needs --operator and --reason'],
    [['submissions', 'export', ...actor], 'export needs --phone'],
    [['submissions', 'export', '--phone', '+0123', ...actor], '--phone: phone number must be in E.164 form'],
    [['submissions', 'export', '--phone', '+14155550100', ...actor, '--format', 'csv'], '--format must be one of json'],
    [['submissions', 'erase', '--phone', '+14155550100', '--operator', 'ops'], 'erase needs --operator and --reason'],
    [['submissions', 'erase', '--phone', '+14155550100', '--operator', 'ops', '--reason', 'for a@b.example'], 'e-mail'],
    [
      ['submissions', 'erase', '--phone', '+14155550100', '--operator', 'ops', '--reason', 'caller 415 555 0100'],
      'phone number',
    ],
    [['submissions', 'purge', '--phone', '+14155550100'], '--phone does not go with purge'],
    [['submissions', 'purge', '--older-than-days', 'ten'], '--older-than-days must be a whole number'],
    [['submissions', 'purge', '--older-than-days', '0'], '--older-than-days must be a whole number'],
    [['submissions', 'reencrypt', 'now'], 'reencrypt takes no positional argument'],
  ])('then `%j` exits 2 with a clear message', async (args, message) => {
    const [name, ...rest] = args as [string, ...string[]];
    expectUsageError(await f.cli(name as 'audit' | 'submissions', rest), message);
  });

  it('then a bad phone number is not echoed back', async () => {
    const r = await f.cli('submissions', ['export', '--phone', '+1 415 CALL ME', ...actor]);
    expectUsageError(r, 'E.164');
    expect(r.stderr).not.toContain('CALL ME');
  });

  it('then a huge argument is refused without being echoed', async () => {
    const huge = `+1${'9'.repeat(20_000)}`;
    const r = await f.cli('audit', ['query', '--phone', huge]);
    expectUsageError(r, 'argument 3 is longer than 1000 characters');
    expect(r.stderr.length).toBeLessThan(3000);
  });

  it('then an --out that exists or cannot be created is refused before any data is read', async () => {
    const existing = join(f.keys.dir, 'taken.csv');
    writeFileSync(existing, 'keep me');
    expectUsageError(await f.cli('audit', ['query', '--out', existing]), 'already exists');
    expectUsageError(
      await f.cli('audit', ['query', '--out', join(f.keys.dir, 'no', 'such', 'dir', 'x.csv')]),
      'its folder does not exist',
    );
    expectUsageError(await f.cli('audit', ['query', '--out', f.keys.dir]), /already exists|is a folder/);
    const denied = await f.cli('submissions', ['export', '--phone', '+14155550100', ...actor, '--out', '/proc/x.json']);
    expectUsageError(denied, /--out \/proc\/x\.json: /);
    const events = await f.withDb((knex) => knex('audit_events').count('* as n').first());
    expect(Number(events?.n)).toBe(0);
  });

  it('then a failed command leaves no half-written --out file', async () => {
    const out = join(f.keys.dir, 'missing.json');
    const r = await f.cli('submissions', ['decrypt', '3f2b0000-0000-0000-0000-000000000000', ...actor, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: no submission with id 3f2b0000-0000-0000-0000-000000000000\n');
    expect(existsSync(out)).toBe(false);
  });

  it('then an unreachable database is one clear line with exit 1 and no password', async () => {
    const r = await f.cli('audit', ['verify'], { DATABASE_URL: 'postgres://flowgate:pw-s3cret-9@127.0.0.1:9/nowhere' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: the database cannot be reached \(ECONNREFUSED\); check DATABASE_URL/m);
    expect(r.stderr).not.toContain('pw-s3cret-9');
    expectNothingLeaked(r);
  });

  it('then audit verify and query need only the database settings, even in production', async () => {
    const databaseOnly = {
      NODE_ENV: 'production',
      FLOW_TOKEN_SECRET: undefined,
      SUBJECT_HASH_KEY: undefined,
      SUBMISSION_KEYS: undefined,
      META_APP_SECRET: undefined,
      TOKEN_API_KEY: undefined,
      FLOWS_PRIVATE_KEY_FILE: undefined,
    };
    const verify = await f.cli('audit', ['verify'], databaseOnly);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect((await f.cli('audit', ['query', '--format', 'csv'], databaseOnly)).code).toBe(0);
    const byPhone = await f.cli('audit', ['query', '--phone', '+14155550100'], databaseOnly);
    expect(byPhone.code).toBe(1);
    // Every missing variable at once (src/config/load-config.ts), each on its own line.
    expect(byPhone.stderr).toMatch(
      /^error: \d+ problems in the configuration:\n {2}- \w+: is required when NODE_ENV=production/,
    );
    expect(byPhone.stderr).toMatch(/^ {2}- SUBJECT_HASH_KEY: is required when NODE_ENV=production/m);
  });

  it('then --help prints the usage and exits 0', async () => {
    const r = await f.cli('submissions', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: npm run submissions');
  });
});
