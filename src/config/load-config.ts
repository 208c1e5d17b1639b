import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ENV_SPEC, type VarSpec } from './env-spec';
import { Secret } from './secret';
import { loadOrCreateDevSecrets } from './dev-secrets';
import type { Config, SubmissionKey } from './types';
import { FlowgateError } from '../errors';

/** One bad or missing variable. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * The configuration problems found at start-up: every one of them, each naming its variable, so
 * that a deployment is fixed in one round instead of one restart per variable. `variable` is the
 * first problem's.
 */
export class ConfigError extends FlowgateError {
  readonly variable: string;
  readonly problems: readonly ConfigProblem[];

  constructor(variable: string, message: string, more: readonly ConfigProblem[] = []) {
    const problems = [{ variable, message }, ...more];
    super(
      'config_invalid',
      problems.length === 1
        ? `${variable}: ${message}`
        : `${problems.length} problems in the configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.variable = variable;
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const SPEC_BY_NAME = new Map(ENV_SPEC.map((s) => [s.name, s]));

export interface LoadConfigOptions {
  /** Folder relative paths resolve against (default: process.cwd()). */
  readonly cwd?: string;
  /** Folder for generated development secrets (default: `<cwd>/keys`). */
  readonly devSecretsDir?: string;
}

/**
 * Parses the environment once into a frozen, typed Config, or throws one ConfigError listing every
 * bad, missing or weak variable. Unknown `FLOWGATE_*`-style variables are not an error: the
 * environment is shared with the rest of the process.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const raw = (name: string): string | undefined => readRaw(env, name, cwd);
  const problems: ConfigProblem[] = [];
  // Runs one variable's parsing; a ConfigError is noted and parsing goes on with the next one.
  // The placeholder returned then is never used: the problems are thrown before Config is.
  const v = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) {
        if (!problems.some((q) => q.variable === p.variable && q.message === p.message)) problems.push(p);
      }
      return undefined as T;
    }
  };

  const nodeEnv = v(() => oneOf(raw, 'NODE_ENV', ['development', 'test', 'production'] as const));
  const production = nodeEnv === 'production';
  const devSecretsDir = options.devSecretsDir ?? resolve(cwd, 'keys');
  let devSecrets: Record<string, string> | undefined;
  const generated = (name: string): Secret => {
    devSecrets ??= loadOrCreateDevSecrets(devSecretsDir);
    const value = devSecrets[name];
    if (value === undefined) throw new ConfigError(name, 'no generated development value');
    return new Secret(value);
  };

  const secret = (name: string): Secret | undefined => {
    const value = raw(name);
    if (value !== undefined) return new Secret(value);
    const spec = specOf(name);
    if (production && spec.requiredInProduction) {
      throw new ConfigError(name, 'is required when NODE_ENV=production (no default secrets)');
    }
    return spec.devGenerated && !production ? generated(name) : undefined;
  };
  const requiredSecret = (name: string): Secret => {
    const s = secret(name);
    if (!s) throw new ConfigError(name, 'is required');
    return s;
  };

  const privateKeyFile = v(() => path(raw, 'FLOWS_PRIVATE_KEY_FILE', cwd));
  // `raw()` falls back to the default (keys/private.pem), so it never returns undefined here: ask
  // the environment itself. Otherwise production silently used a development key left in keys/
  // (ENV_SPEC marks the variable requiredInProduction). Found by test/unit/config.test.ts.
  if (production && (env.FLOWS_PRIVATE_KEY_FILE ?? '').trim() === '') {
    v(() => fail('FLOWS_PRIVATE_KEY_FILE', 'is required when NODE_ENV=production'));
  }
  const appSecret = v(() => secret('META_APP_SECRET'));
  const previousAppSecrets = v(() => list(raw, 'META_PREVIOUS_APP_SECRETS').map((s) => new Secret(s))) ?? [];
  if (!appSecret && previousAppSecrets.length > 0) {
    v(() => fail('META_PREVIOUS_APP_SECRETS', 'is set but META_APP_SECRET is not'));
  }
  if (production) {
    if (appSecret) v(() => assertMetaAppSecret('META_APP_SECRET', appSecret));
    previousAppSecrets.forEach((s) => v(() => assertMetaAppSecret('META_PREVIOUS_APP_SECRETS', s)));
  }

  // Data API 4.0 (src/protocol/NOTES.md): no default in the table, production requires it.
  const flowTokenSignature = v(() =>
    raw('FLOW_TOKEN_SIGNATURE') === undefined
      ? production
        ? ('required' as const)
        : ('verify' as const)
      : oneOf(raw, 'FLOW_TOKEN_SIGNATURE', ['required', 'verify'] as const),
  );
  if (flowTokenSignature === 'required' && !appSecret) {
    v(() => {
      throw new ConfigError(
        'FLOW_TOKEN_SIGNATURE',
        'is required but META_APP_SECRET is not set (nothing to verify with)',
      );
    });
  }

  const flowTokenSecret = v(() => requiredSecret('FLOW_TOKEN_SECRET'));
  if (flowTokenSecret) v(() => assertKeyLength('FLOW_TOKEN_SECRET', flowTokenSecret));
  const previousTokenSecrets = v(() => list(raw, 'FLOW_TOKEN_PREVIOUS_SECRETS').map((s) => new Secret(s))) ?? [];
  previousTokenSecrets.forEach((s) => v(() => assertKeyLength('FLOW_TOKEN_PREVIOUS_SECRETS', s)));
  const subjectHashKey = v(() => requiredSecret('SUBJECT_HASH_KEY'));
  if (subjectHashKey) v(() => assertKeyLength('SUBJECT_HASH_KEY', subjectHashKey));

  const databaseUrl = v(() => secret('DATABASE_URL'));
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl.reveal())) {
    v(() => fail('DATABASE_URL', 'must start with postgres:// or postgresql://'));
  }
  const pgliteDataDir = v(() => pgliteDir(raw, cwd));
  if (production && !databaseUrl) v(() => refuseEmbeddedDatabase(pgliteDataDir));

  const logFormatRaw = v(() => raw('LOG_FORMAT'));
  const logFormat =
    logFormatRaw === undefined
      ? production
        ? 'json'
        : 'pretty'
      : v(() => oneOf(raw, 'LOG_FORMAT', ['json', 'pretty'] as const));

  const previousKeyPassphrase = v(() => secret('FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE'));
  const privateKeyPassphrase = v(() => secret('FLOWS_PRIVATE_KEY_PASSPHRASE'));
  const webConcurrencyRaw = raw('WEB_CONCURRENCY');
  const metricsPortRaw = raw('METRICS_PORT');
  const tokenApiKey = v(() => secret('TOKEN_API_KEY'));
  const metricsToken = v(() => secret('METRICS_TOKEN'));
  if (production) {
    if (tokenApiKey) v(() => assertKeyLength('TOKEN_API_KEY', tokenApiKey));
    if (metricsToken) v(() => assertKeyLength('METRICS_TOKEN', metricsToken));
  }
  const consolePortRaw = raw('CONSOLE_PORT');
  const consoleDatabaseUrl = v(() => secret('CONSOLE_DATABASE_URL'));
  if (consoleDatabaseUrl && !databaseUrl) {
    v(() => fail('CONSOLE_DATABASE_URL', 'is set but DATABASE_URL is not (PGlite has no logins)'));
  } else if (consoleDatabaseUrl && !/^postgres(ql)?:\/\//.test(consoleDatabaseUrl.reveal())) {
    v(() => fail('CONSOLE_DATABASE_URL', 'must start with postgres:// or postgresql://'));
  }

  const config: Config = {
    nodeEnv,
    host: v(() => nonEmpty(raw, 'HOST')),
    port: v(() => integer(raw, 'PORT', 0, 65535)),
    privateKeyFile,
    privateKeyPassphrase,
    previousPrivateKeyFiles: v(() => list(raw, 'FLOWS_PREVIOUS_PRIVATE_KEY_FILES').map((p) => resolve(cwd, p))),
    previousPrivateKeyPassphrase: previousKeyPassphrase ?? privateKeyPassphrase,
    appSecrets: appSecret ? [appSecret, ...previousAppSecrets] : [],
    flowTokenSignature,
    database: {
      url: databaseUrl,
      schema: v(() => identifier(raw, 'DATABASE_SCHEMA')),
      poolMax: v(() => integer(raw, 'DATABASE_POOL_MAX', 1, 1000)),
      pgliteDataDir,
    },
    flowTokens: {
      secrets: [flowTokenSecret, ...previousTokenSecrets],
      ttlSeconds: v(() => integer(raw, 'FLOW_TOKEN_TTL_SECONDS', 60, 90 * 86400)),
    },
    subjectHashKey,
    submissionKeys: v(() => parseKeyring(requiredSecret('SUBMISSION_KEYS'))),
    tokenApiKey,
    handlerTimeoutMs: v(() => integer(raw, 'HANDLER_TIMEOUT_MS', 100, 9500)),
    bodyLimitBytes: v(() => integer(raw, 'BODY_LIMIT_BYTES', 1024, 16 * 1024 * 1024)),
    logLevel: v(() => oneOf(raw, 'LOG_LEVEL', ['error', 'warn', 'info', 'debug'] as const)),
    logFormat,
    audit: {
      enabled: v(() => bool(raw, 'AUDIT_ENABLED')),
      chains: v(() => integer(raw, 'AUDIT_CHAINS', 1, 64)),
      batchMax: v(() => integer(raw, 'AUDIT_BATCH_MAX', 1, 5000)),
    },
    submissionRetentionDays: v(() => integer(raw, 'SUBMISSION_RETENTION_DAYS', 1, 36500)),
    webConcurrency: webConcurrencyRaw === undefined ? undefined : v(() => integer(raw, 'WEB_CONCURRENCY', 1, 256)),
    metricsPort: metricsPortRaw === undefined ? undefined : v(() => integer(raw, 'METRICS_PORT', 0, 65535)),
    metricsToken,
    redisUrl: v(() => secret('REDIS_URL')),
    rateLimits: {
      perTokenPerMinute: v(() => integer(raw, 'RATE_LIMIT_PER_TOKEN_PER_MINUTE', 1, 100000)),
      failedPerIpPerMinute: v(() => integer(raw, 'RATE_LIMIT_FAILED_PER_IP_PER_MINUTE', 1, 100000)),
      tokenApiPerMinute: v(() => integer(raw, 'RATE_LIMIT_TOKEN_API_PER_MINUTE', 1, 100000)),
      globalPerSecond: v(() => integer(raw, 'RATE_LIMIT_GLOBAL_PER_SECOND', 1, 1000000)),
    },
    trustProxy: v(() => trustProxy(raw)),
    webhook: v(() => webhookConfig(raw, secret, appSecret ? [appSecret, ...previousAppSecrets] : [])),
    media: {
      allowedHosts: v(() => mediaHosts(list(raw, 'MEDIA_ALLOWED_HOSTS'))),
      allowLoopback: !production,
      maxFileBytes: v(() => integer(raw, 'MEDIA_MAX_FILE_BYTES', 1024, 25 * 1024 * 1024)),
      maxFilesPerPicker: v(() => integer(raw, 'MEDIA_MAX_FILES', 1, 30)),
      connectTimeoutMs: v(() => integer(raw, 'MEDIA_CONNECT_TIMEOUT_MS', 100, 9000)),
      downloadTimeoutMs: v(() => integer(raw, 'MEDIA_DOWNLOAD_TIMEOUT_MS', 100, 9500)),
    },
    console: {
      port: consolePortRaw === undefined ? undefined : v(() => integer(raw, 'CONSOLE_PORT', 0, 65535)),
      databaseUrl: consoleDatabaseUrl,
    },
    tls: v(() => tlsFiles(raw, cwd)),
  };
  const [first, ...more] = problems;
  if (first) throw new ConfigError(first.variable, first.message, more);
  return deepFreeze(config);
}

/** The webhook's settings (src/webhooks/); its path must be a plain absolute path. */
function webhookConfig(
  raw: (name: string) => string | undefined,
  secret: (name: string) => Secret | undefined,
  appSecrets: readonly Secret[],
): Config['webhook'] {
  const path = nonEmpty(raw, 'WEBHOOK_PATH');
  if (!/^\/[A-Za-z0-9._~/-]{0,200}$/.test(path) || path.startsWith('/flows/') || path.startsWith('/api/')) {
    throw new ConfigError(
      'WEBHOOK_PATH',
      'must be a path like /webhook (letters, digits, . _ ~ / -), outside /flows/ and /api/',
    );
  }
  const own = secret('WEBHOOK_APP_SECRET');
  return {
    path,
    verifyToken: secret('WEBHOOK_VERIFY_TOKEN'),
    appSecrets: own ? [own] : appSecrets,
    bodyLimitBytes: integer(raw, 'WEBHOOK_BODY_LIMIT_BYTES', 1024, 64 * 1024 * 1024),
    hookTimeoutMs: integer(raw, 'COMPLETION_HOOK_TIMEOUT_MS', 100, 60_000),
  };
}

function specOf(name: string): VarSpec {
  const spec = SPEC_BY_NAME.get(name);
  if (!spec) throw new Error(`internal: ${name} is not in ENV_SPEC`);
  return spec;
}

/** The value of a variable (or of `<NAME>_FILE` for secrets), else its default, else undefined. */
function readRaw(env: Env, name: string, cwd: string): string | undefined {
  const spec = specOf(name);
  const direct = env[name];
  const fileVar = `${name}_FILE`;
  const file = spec.secret ? env[fileVar] : undefined;
  if (direct !== undefined && direct !== '' && file) {
    throw new ConfigError(name, `set both ${name} and ${fileVar}; choose one`);
  }
  if (file) {
    try {
      // Trailing newlines come from editors and `echo`; they are never part of a secret.
      const text = readFileSync(resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
      if (text === '') throw new ConfigError(fileVar, `file ${file} is empty`);
      return text;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(fileVar, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (direct !== undefined && direct !== '') return direct;
  return spec.default === '' ? undefined : spec.default;
}

type Raw = (name: string) => string | undefined;

function nonEmpty(raw: Raw, name: string): string {
  const v = raw(name);
  if (v === undefined || v.trim() === '') throw new ConfigError(name, 'must not be empty');
  return v.trim();
}

function integer(raw: Raw, name: string, min: number, max: number): number {
  const v = nonEmpty(raw, name);
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${truncate(v)}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(raw: Raw, name: string): boolean {
  const v = nonEmpty(raw, name).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `must be true or false, got "${truncate(v)}"`);
}

function oneOf<T extends string>(raw: Raw, name: string, values: readonly T[]): T {
  const v = nonEmpty(raw, name);
  if (!(values as readonly string[]).includes(v)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${truncate(v)}"`);
  }
  return v as T;
}

function list(raw: Raw, name: string): string[] {
  const v = raw(name);
  if (v === undefined) return [];
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(name, 'has an empty item in its comma-separated list');
  return items;
}

function path(raw: Raw, name: string, cwd: string): string {
  const v = nonEmpty(raw, name);
  return isAbsolute(v) ? v : resolve(cwd, v);
}

function identifier(raw: Raw, name: string): string {
  const v = nonEmpty(raw, name);
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(v)) {
    throw new ConfigError(name, 'must be a lower-case SQL identifier (letters, digits, underscore)');
  }
  return v;
}

function pgliteDir(raw: Raw, cwd: string): string {
  const v = nonEmpty(raw, 'PGLITE_DATA_DIR');
  return v === 'memory://' ? v : resolve(cwd, v);
}

function trustProxy(raw: Raw): boolean | number {
  const v = nonEmpty(raw, 'TRUST_PROXY').toLowerCase();
  if (/^\d+$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigError('TRUST_PROXY', `must be true, false or a number of proxies, got "${truncate(v)}"`);
}

function fail(variable: string, message: string): never {
  throw new ConfigError(variable, message);
}

/** Fewer distinct characters than this in a 32-byte key: a placeholder or a pattern, not random bytes. */
const MIN_DISTINCT_CHARACTERS = 8;

/** HMAC keys and bearer keys: at least 32 bytes, and not a placeholder like `xxxx…` or `abcabc…`. */
/** Both TLS files or neither: half a pair is a typo, not plain HTTP. */
function tlsFiles(raw: Raw, cwd: string): Config['tls'] {
  const cert = raw('TLS_CERT_FILE');
  const key = raw('TLS_KEY_FILE');
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new ConfigError('TLS_CERT_FILE', 'is required when TLS_KEY_FILE is set');
  if (key === undefined) throw new ConfigError('TLS_KEY_FILE', 'is required when TLS_CERT_FILE is set');
  return { certFile: resolve(cwd, cert.trim()), keyFile: resolve(cwd, key.trim()) };
}

function assertKeyLength(name: string, secret: Secret): void {
  const value = secret.reveal();
  if (Buffer.byteLength(value, 'utf8') < 32) {
    fail(name, 'must be at least 32 bytes long (use e.g. `openssl rand -base64 32`)');
  }
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) {
    fail(name, 'looks like a placeholder, not a random key (use e.g. `openssl rand -base64 32`)');
  }
}

/**
 * Meta issues app secrets as 32 hexadecimal characters (App Dashboard → App settings → Basic,
 * https://developers.facebook.com/documentation/development/create-an-app/app-dashboard/basic-settings;
 * secret scanners match them as 32 hex characters). In production anything shorter or otherwise
 * shaped is a paste error or a made-up value, and would make every signature check fail (432).
 */
function assertMetaAppSecret(name: string, secret: Secret): void {
  if (!/^[0-9a-fA-F]{32,}$/.test(secret.reveal())) {
    fail(
      name,
      'must be the app secret as Meta issues it: 32 (or more) hexadecimal characters, from App settings → Basic',
    );
  }
}

/**
 * Production never runs on the embedded PGlite database: it serves one process, lives on this
 * host's disk only, has no separate read-only login for compliance staff, and its compliance
 * commands need the service stopped. `memory://` would also lose every submission and audit event
 * at exit. Production takes DATABASE_URL (README, "Running in production").
 */
function refuseEmbeddedDatabase(pgliteDataDir: string | undefined): never {
  if (pgliteDataDir === 'memory://') {
    fail(
      'PGLITE_DATA_DIR',
      'memory:// keeps submissions and the audit log in memory only; refused when NODE_ENV=production (set DATABASE_URL)',
    );
  }
  fail(
    'DATABASE_URL',
    'is required when NODE_ENV=production (the embedded PGlite database is for development and tests)',
  );
}

/** `id:base64key,id2:base64key` → keys; the first is the one new data is sealed with. */
export function parseKeyring(secret: Secret): SubmissionKey[] {
  const name = 'SUBMISSION_KEYS';
  const keys: SubmissionKey[] = [];
  for (const item of secret.reveal().split(',')) {
    const match = /^\s*([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/]+={0,2})\s*$/.exec(item);
    if (!match) throw new ConfigError(name, 'each item must look like id:base64key (id: letters, digits, _ or -)');
    const [, id, b64] = match as unknown as [string, string, string];
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new ConfigError(name, `key "${id}" must be 32 bytes, got ${key.length}`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(name, `key id "${id}" appears twice`);
    keys.push({ id, key: new Secret(key.toString('base64')) });
  }
  return keys;
}

function truncate(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Secret)) {
    Object.values(value as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Only the database settings, parsed like loadConfig parses them: for tools that need nothing
 * else, such as `npm run audit -- verify` run by compliance staff, who should not have to hold the
 * service's secrets (which loadConfig requires in production).
 */
export function loadDatabaseConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config['database'] {
  const cwd = options.cwd ?? process.cwd();
  const raw = (name: string): string | undefined => readRaw(env, name, cwd);
  const url = raw('DATABASE_URL');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  return deepFreeze({
    url: url === undefined ? undefined : new Secret(url),
    schema: identifier(raw, 'DATABASE_SCHEMA'),
    poolMax: integer(raw, 'DATABASE_POOL_MAX', 1, 1000),
    pgliteDataDir: pgliteDir(raw, cwd),
  });
}

/** Host names or `*.suffix` patterns; anything else (a scheme, a path, a bare `*`) is a mistake. */
function mediaHosts(hosts: readonly string[]): string[] {
  const pattern = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
  for (const host of hosts) {
    if (!pattern.test(host))
      throw new ConfigError('MEDIA_ALLOWED_HOSTS', `"${truncate(host)}" is not a host name or *.domain`);
  }
  return hosts.map((h) => h.toLowerCase());
}
