import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ENV_SPEC, loadConfig, loadDatabaseConfig, loadVariables } from '../../src/config';
import { makeTestKeys, randomSecret, testEnv, type TestKeys } from '../helpers/env';

/**
 * Config is parsed once at start and fails fast with a ConfigError naming the variable
 * (src/ARCHITECTURE.md, rule 3); production never falls back to generated or default secrets.
 */

let keys: TestKeys;
let dir: string;
beforeAll(() => {
  keys = makeTestKeys();
});
afterAll(() => keys.cleanup());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (overrides: Record<string, string | undefined>): ReturnType<typeof loadConfig> =>
  loadConfig(testEnv(keys, overrides), { cwd: dir, devSecretsDir: dir });

function configError(overrides: Record<string, string | undefined>): ConfigError {
  try {
    load(overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const CANARY = `canary-${randomBytes(6).toString('hex')}`;

describe('when every variable is valid', () => {
  it('then the config is typed, frozen, and renders its secrets as [secret]', () => {
    const env = testEnv(keys);
    const config = loadConfig(env, { cwd: dir, devSecretsDir: dir });
    expect(config.port).toBe(0);
    expect(config.handlerTimeoutMs).toBe(8000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    const printed = JSON.stringify(config);
    for (const name of ['META_APP_SECRET', 'FLOW_TOKEN_SECRET', 'SUBJECT_HASH_KEY', 'TOKEN_API_KEY']) {
      expect(printed).not.toContain(env[name] as string);
    }
    expect(printed).toContain('[secret]');
  });

  it('then values are typed: numbers, flags in their usual spellings, lists, paths against cwd', () => {
    const config = load({
      AUDIT_ENABLED: 'Off',
      TRUST_PROXY: '2',
      MEDIA_ALLOWED_HOSTS: ' MMG.whatsapp.net , *.cdn.example ',
      FLOWS_PREVIOUS_PRIVATE_KEY_FILES: 'old.pem, /keys/older.pem',
      PORT: ' 8080 ',
    });
    expect(config.audit.enabled).toBe(false);
    expect(config.trustProxy).toBe(2);
    expect(config.port).toBe(8080);
    expect(config.media.allowedHosts).toEqual(['mmg.whatsapp.net', '*.cdn.example']);
    expect(config.previousPrivateKeyFiles).toEqual([join(dir, 'old.pem'), '/keys/older.pem']);
    expect(load({ TRUST_PROXY: 'TRUE', AUDIT_ENABLED: 'yes' })).toMatchObject({
      trustProxy: true,
      audit: { enabled: true },
    });
    // Defaults, and the ones that depend on NODE_ENV.
    expect(load({ LOG_FORMAT: undefined, FLOW_TOKEN_SIGNATURE: undefined })).toMatchObject({
      logFormat: 'pretty',
      flowTokenSignature: 'verify',
      bodyLimitBytes: 1048576,
      webhook: { path: '/webhook' },
    });
  });

  it('then a secret can come from a <NAME>_FILE, with its trailing newline removed', () => {
    const file = join(dir, 'app-secret');
    writeFileSync(file, `${CANARY}\n`);
    const config = load({ META_APP_SECRET: undefined, META_APP_SECRET_FILE: file });
    expect(config.appSecrets[0]?.reveal()).toBe(CANARY);
  });
});

describe('when a variable is wrong, then ConfigError names it', () => {
  const cases: [string, Record<string, string | undefined>][] = [
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['HOST', { HOST: '   ' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '-1' }],
    ['HANDLER_TIMEOUT_MS', { HANDLER_TIMEOUT_MS: '50' }],
    ['HANDLER_TIMEOUT_MS', { HANDLER_TIMEOUT_MS: '10000' }],
    ['HANDLER_TIMEOUT_MS', { HANDLER_TIMEOUT_MS: '1.5' }],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: '10' }],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: '1e6' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['LOG_FORMAT', { LOG_FORMAT: 'xml' }],
    ['AUDIT_ENABLED', { AUDIT_ENABLED: 'maybe' }],
    ['AUDIT_CHAINS', { AUDIT_CHAINS: '0' }],
    ['AUDIT_BATCH_MAX', { AUDIT_BATCH_MAX: '100000' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost/db' }],
    ['DATABASE_SCHEMA', { DATABASE_SCHEMA: 'Robert"); DROP TABLE' }],
    ['DATABASE_POOL_MAX', { DATABASE_POOL_MAX: '0' }],
    ['FLOW_TOKEN_SECRET', { FLOW_TOKEN_SECRET: 'too short' }],
    ['FLOW_TOKEN_PREVIOUS_SECRETS', { FLOW_TOKEN_PREVIOUS_SECRETS: `${randomSecret()},short` }],
    ['FLOW_TOKEN_PREVIOUS_SECRETS', { FLOW_TOKEN_PREVIOUS_SECRETS: `${randomSecret()},,${randomSecret()}` }],
    ['FLOW_TOKEN_TTL_SECONDS', { FLOW_TOKEN_TTL_SECONDS: '59' }],
    ['SUBJECT_HASH_KEY', { SUBJECT_HASH_KEY: 'short' }],
    ['SUBMISSION_KEYS', { SUBMISSION_KEYS: 'no-colon' }],
    ['SUBMISSION_KEYS', { SUBMISSION_KEYS: `k1:${randomBytes(16).toString('base64')}` }],
    [
      'SUBMISSION_KEYS',
      { SUBMISSION_KEYS: `k1:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}` },
    ],
    ['META_PREVIOUS_APP_SECRETS', { META_APP_SECRET: undefined, META_PREVIOUS_APP_SECRETS: randomSecret() }],
    ['META_APP_SECRET', { META_APP_SECRET_FILE: '/nonexistent/secret' }],
    ['META_APP_SECRET_FILE', { META_APP_SECRET: undefined, META_APP_SECRET_FILE: '/nonexistent/secret' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'sometimes' }],
    ['WEB_CONCURRENCY', { WEB_CONCURRENCY: '0' }],
    ['METRICS_PORT', { METRICS_PORT: 'metrics' }],
    ['CONSOLE_PORT', { CONSOLE_PORT: 'console' }],
    ['CONSOLE_DATABASE_URL', { DATABASE_URL: 'postgres://u@h/db', CONSOLE_DATABASE_URL: 'mysql://u@h/db' }],
    ['CONSOLE_DATABASE_URL', { DATABASE_URL: undefined, CONSOLE_DATABASE_URL: 'postgres://u@h/db' }],
    ['RATE_LIMIT_PER_TOKEN_PER_MINUTE', { RATE_LIMIT_PER_TOKEN_PER_MINUTE: '0' }],
    ['RATE_LIMIT_FAILED_PER_IP_PER_MINUTE', { RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: 'lots' }],
    ['RATE_LIMIT_GLOBAL_PER_SECOND', { RATE_LIMIT_GLOBAL_PER_SECOND: '0' }],
    ['RATE_LIMIT_TOKEN_API_PER_MINUTE', { RATE_LIMIT_TOKEN_API_PER_MINUTE: '100001' }],
    ['SUBMISSION_RETENTION_DAYS', { SUBMISSION_RETENTION_DAYS: '0' }],
    ['FLOWS_PREVIOUS_PRIVATE_KEY_FILES', { FLOWS_PREVIOUS_PRIVATE_KEY_FILES: 'a.pem,,b.pem' }],
    ['WEBHOOK_PATH', { WEBHOOK_PATH: 'webhook' }],
    ['WEBHOOK_PATH', { WEBHOOK_PATH: '/flows/webhook' }],
    ['WEBHOOK_PATH', { WEBHOOK_PATH: '/hook?x=1' }],
    ['WEBHOOK_BODY_LIMIT_BYTES', { WEBHOOK_BODY_LIMIT_BYTES: '10' }],
    ['COMPLETION_HOOK_TIMEOUT_MS', { COMPLETION_HOOK_TIMEOUT_MS: 'soon' }],
    ['FLOW_TOKEN_SIGNATURE', { FLOW_TOKEN_SIGNATURE: 'sometimes' }],
    ['MEDIA_ALLOWED_HOSTS', { MEDIA_ALLOWED_HOSTS: 'https://mmg.whatsapp.net' }],
    ['MEDIA_ALLOWED_HOSTS', { MEDIA_ALLOWED_HOSTS: '*' }],
    ['MEDIA_MAX_FILE_BYTES', { MEDIA_MAX_FILE_BYTES: String(26 * 1024 * 1024) }],
    ['MEDIA_MAX_FILES', { MEDIA_MAX_FILES: '31' }],
    ['MEDIA_CONNECT_TIMEOUT_MS', { MEDIA_CONNECT_TIMEOUT_MS: '10000' }],
    ['MEDIA_DOWNLOAD_TIMEOUT_MS', { MEDIA_DOWNLOAD_TIMEOUT_MS: '0' }],
    ['TLS_KEY_FILE', { TLS_CERT_FILE: 'server.crt' }],
    ['TLS_CERT_FILE', { TLS_KEY_FILE: 'server.key' }],
    ['FLOWGATE_DEBUG', { FLOWGATE_DEBUG: 'sometimes' }],
  ];
  it.each(cases)('%s (%j)', (variable, overrides) => {
    const err = configError(overrides);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('then every variable of ENV_SPEC that has a default or a rule was exercised above', () => {
    const covered = new Set(cases.map(([v]) => v.replace(/_FILE$/, '')));
    const untested = ENV_SPEC.map((s) => s.name).filter(
      (n) =>
        !covered.has(n) &&
        // Free-form values with nothing to get wrong, or checked elsewhere (key files at load time).
        ![
          'FLOWS_PRIVATE_KEY_FILE',
          'FLOWS_PRIVATE_KEY_PASSPHRASE',
          'FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE',
          'PGLITE_DATA_DIR',
          'TOKEN_API_KEY',
          'METRICS_TOKEN',
          'REDIS_URL',
          'WEBHOOK_VERIFY_TOKEN',
          'WEBHOOK_APP_SECRET',
          // Covered above, but their names end in _FILE; the pair itself is checked at start (test/prod/tls.test.ts).
          'TLS_CERT_FILE',
          'TLS_KEY_FILE',
        ].includes(n),
    );
    expect(untested).toEqual([]);
  });

  it('then the message says what is allowed and quotes the rejected value (not a secret)', () => {
    expect(configError({ PORT: '65536' }).message).toBe('PORT: must be between 0 and 65535, got 65536');
    expect(configError({ LOG_LEVEL: 'verbose' }).message).toBe(
      'LOG_LEVEL: must be one of error, warn, info, debug, got "verbose"',
    );
    expect(configError({ HOST: '   ' }).message).toBe('HOST: must not be empty, got ""');
    expect(configError({ FLOW_TOKEN_PREVIOUS_SECRETS: `${randomSecret()},,${randomSecret()}` }).message).toBe(
      'FLOW_TOKEN_PREVIOUS_SECRETS: has an empty item in its comma-separated list',
    );
  });

  it('then a rejected secret value never appears in the message', () => {
    for (const name of ['FLOW_TOKEN_SECRET', 'SUBJECT_HASH_KEY', 'SUBMISSION_KEYS', 'FLOW_TOKEN_PREVIOUS_SECRETS']) {
      const err = configError({ [name]: CANARY });
      expect(err.variable).toBe(name);
      expect(err.message).not.toContain(CANARY);
    }
    const url = configError({ DATABASE_URL: `mysql://user:${CANARY}@host/db` });
    expect(url.message).not.toContain(CANARY);
  });

  it('then both NAME and NAME_FILE set is refused, naming NAME', () => {
    const file = join(dir, 'secret');
    writeFileSync(file, randomSecret());
    expect(configError({ FLOW_TOKEN_SECRET_FILE: file }).variable).toBe('FLOW_TOKEN_SECRET');
  });

  it('then an empty secret file is refused, naming NAME_FILE', () => {
    const file = join(dir, 'empty');
    writeFileSync(file, '\n');
    expect(configError({ SUBJECT_HASH_KEY: undefined, SUBJECT_HASH_KEY_FILE: file }).variable).toBe(
      'SUBJECT_HASH_KEY_FILE',
    );
  });
});

describe('when NODE_ENV=production', () => {
  const production = (overrides: Record<string, string | undefined>): Record<string, string | undefined> => ({
    NODE_ENV: 'production',
    META_APP_SECRET: randomBytes(16).toString('hex'),
    DATABASE_URL: 'postgres://flowgate@db.internal:5432/flowgate',
    ...overrides,
  });

  it('then a complete production environment loads', () => {
    expect(load(production({})).nodeEnv).toBe('production');
    expect(load(production({ LOG_FORMAT: undefined, FLOW_TOKEN_SIGNATURE: undefined }))).toMatchObject({
      logFormat: 'json',
      flowTokenSignature: 'required',
    });
    // Picker files: https on Meta's CDN only; loopback (the simulator's CDN stand-in) is for development.
    expect(load(production({})).media).toMatchObject({ allowedHosts: ['mmg.whatsapp.net'], allowLoopback: false });
  });

  it('then every missing and weak variable is named at once, in one error', () => {
    const err = configError(
      production({
        FLOW_TOKEN_SECRET: undefined,
        SUBJECT_HASH_KEY: 'x'.repeat(40),
        META_APP_SECRET: 'too-short',
        META_PREVIOUS_APP_SECRETS: `${randomBytes(16).toString('hex')},${CANARY}`,
        TOKEN_API_KEY: 'short-key',
        METRICS_TOKEN: 'ab'.repeat(20),
        SUBMISSION_KEYS: undefined,
        PORT: 'eighty',
      }),
    );
    const named = err.problems.map((p) => p.variable);
    // In the order of the definition (and of the README's table).
    expect(named).toEqual([
      'PORT',
      'META_APP_SECRET',
      'META_PREVIOUS_APP_SECRETS',
      'FLOW_TOKEN_SECRET',
      'SUBJECT_HASH_KEY',
      'SUBMISSION_KEYS',
      'TOKEN_API_KEY',
      'METRICS_TOKEN',
    ]);
    expect(err.variable).toBe('PORT');
    expect(err.message).toMatch(
      /^8 problems in the configuration:\n {2}- PORT: must be a whole number, got "eighty"\n/,
    );
    expect(err.message).toContain('  - META_APP_SECRET: must be the app secret');
    for (const name of named) expect(err.message).toContain(`  - ${name}: `);
    expect(err.message).toContain('SUBJECT_HASH_KEY: looks like a placeholder');
    expect(err.message).toContain('TOKEN_API_KEY: must be at least 32 bytes');
    // Never the values themselves.
    expect(err.message).not.toContain(CANARY);
    expect(err.message).not.toContain('too-short');
  });

  it.each([
    ['a Meta-shaped app secret (32 hex characters)', randomBytes(16).toString('hex'), true],
    ['an upper-case hex app secret', randomBytes(16).toString('hex').toUpperCase(), true],
    ['31 hex characters', randomBytes(16).toString('hex').slice(1), false],
    ['a 43-character base64url string', randomSecret(), false],
  ])('then META_APP_SECRET as %s is %s', (_what, secret, accepted) => {
    if (accepted) expect(load(production({ META_APP_SECRET: secret })).appSecrets).toHaveLength(1);
    else expect(configError(production({ META_APP_SECRET: secret })).variable).toBe('META_APP_SECRET');
  });

  it('then NODE_ENV with surrounding blanks is still production, with its rules', () => {
    expect(configError(production({ NODE_ENV: ' production ', FLOW_TOKEN_SECRET: undefined })).variable).toBe(
      'FLOW_TOKEN_SECRET',
    );
  });

  it('then outside production any app secret is accepted (tests and local simulators sign with their own)', () => {
    expect(load({ META_APP_SECRET: 'local-simulator' }).appSecrets).toHaveLength(1);
  });

  it('then the embedded database is refused: memory:// by name, a PGlite folder by asking for DATABASE_URL', () => {
    const inMemory = configError(production({ DATABASE_URL: undefined, PGLITE_DATA_DIR: 'memory://' }));
    expect(inMemory.problems).toEqual([
      { variable: 'PGLITE_DATA_DIR', message: expect.stringContaining('memory://') as unknown as string },
    ]);
    const onDisk = configError(production({ DATABASE_URL: undefined, PGLITE_DATA_DIR: join(dir, 'pglite') }));
    expect(onDisk.problems.map((p) => p.variable)).toEqual(['DATABASE_URL']);
    expect(onDisk.message).toContain('is required when NODE_ENV=production');
    // Outside production the embedded database (in memory too) is the default.
    expect(load({ DATABASE_URL: undefined, PGLITE_DATA_DIR: 'memory://' }).database.pgliteDataDir).toBe('memory://');
  });

  it('then a placeholder HMAC key is refused in every environment', () => {
    expect(configError({ FLOW_TOKEN_SECRET: 'abcd'.repeat(10) }).message).toBe(
      'FLOW_TOKEN_SECRET: looks like a placeholder, not a random key (use e.g. `openssl rand -base64 32`)',
    );
  });

  it.each(['FLOWS_PRIVATE_KEY_FILE', 'META_APP_SECRET', 'FLOW_TOKEN_SECRET', 'SUBJECT_HASH_KEY', 'SUBMISSION_KEYS'])(
    'then it refuses to start without %s',
    (name) => {
      const err = configError(production({ [name]: undefined }));
      expect(err.variable).toBe(name);
      expect(err.message).toContain('NODE_ENV=production');
    },
  );

  it('then it never generates or reads development secrets', () => {
    configError(production({ FLOW_TOKEN_SECRET: undefined }));
    expect(existsSync(join(dir, 'dev-secrets.json'))).toBe(false);
  });

  it('then outside production the missing secrets are generated once and reused', () => {
    const a = load({ FLOW_TOKEN_SECRET: undefined, SUBJECT_HASH_KEY: undefined, SUBMISSION_KEYS: undefined });
    const b = load({ FLOW_TOKEN_SECRET: undefined, SUBJECT_HASH_KEY: undefined, SUBMISSION_KEYS: undefined });
    expect(existsSync(join(dir, 'dev-secrets.json'))).toBe(true);
    expect(a.flowTokens.secrets[0]?.reveal()).toBe(b.flowTokens.secrets[0]?.reveal());
  });
});

describe('when a tool reads only some variables (loadVariables)', () => {
  it('then they are validated and typed as loadConfig does, without the production requirements of others', () => {
    const env = { NODE_ENV: 'production', PORT: '8443', DATABASE_URL: 'postgres://u@h/db' };
    const values = loadVariables(['PORT', 'NODE_ENV', 'DATABASE_URL'], env, { cwd: dir, devSecretsDir: dir });
    expect(values).toMatchObject({ PORT: 8443, NODE_ENV: 'production' });
    expect(values.DATABASE_URL?.reveal()).toBe('postgres://u@h/db');
    expect(String(values.DATABASE_URL)).toBe('[secret]');
    expect(loadDatabaseConfig(env, { cwd: dir })).toMatchObject({ schema: 'public', poolMax: 10 });
  });

  it('then a bad one is a ConfigError naming it, and a secret comes from its <NAME>_FILE', () => {
    expect(() => loadVariables(['PORT'], { PORT: 'eighty' })).toThrow('PORT: must be a whole number');
    expect(() => loadDatabaseConfig({ DATABASE_URL: `mysql://u:${CANARY}@h/db` })).toThrow(ConfigError);
    const file = join(dir, 'passphrase');
    writeFileSync(file, `${CANARY}\n`);
    const values = loadVariables(['FLOWS_PRIVATE_KEY_PASSPHRASE'], { FLOWS_PRIVATE_KEY_PASSPHRASE_FILE: file });
    expect(values.FLOWS_PRIVATE_KEY_PASSPHRASE?.reveal()).toBe(CANARY);
  });

  it('then generated development secrets are read when they exist, never created', () => {
    expect(loadVariables(['TOKEN_API_KEY'], {}, { devSecretsDir: dir }).TOKEN_API_KEY).toBeUndefined();
    expect(existsSync(join(dir, 'dev-secrets.json'))).toBe(false);
    const config = load({ TOKEN_API_KEY: undefined });
    const values = loadVariables(['TOKEN_API_KEY'], {}, { devSecretsDir: dir });
    expect(values.TOKEN_API_KEY?.reveal()).toBe(config.tokenApiKey?.reveal());
  });
});
