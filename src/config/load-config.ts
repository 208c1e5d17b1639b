import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import envSchema from 'env-schema';
import type { ErrorObject } from 'ajv';
import { ENV_SPEC, VARIABLES, type EnvValues, type VarDef, type VarName } from './env-spec';
import { buildSchema, configAjv, describeProblems, splitList, type ConfigProblem, type Mode } from './schema';
import { Secret } from './secret';
import { loadOrCreateDevSecrets, readDevSecrets } from './dev-secrets';
import type { Config, SubmissionKey } from './types';
import { FlowgateError } from '../errors';

export type { ConfigProblem } from './schema';

/**
 * The configuration problems found at start-up: every one of them, each naming its variable, in
 * the order of the definition (src/config/env-spec.ts), so that a deployment is fixed in one round
 * instead of one restart per variable. `variable` is the first problem's.
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

export interface LoadConfigOptions {
  /** Folder relative paths resolve against (default: process.cwd()). */
  readonly cwd?: string;
  /** Folder for generated development secrets (default: `<cwd>/keys`). */
  readonly devSecretsDir?: string;
}

/**
 * Parses the environment once into a frozen, typed Config, or throws one ConfigError listing every
 * bad, missing or weak variable. Variables the definition does not name are ignored: the
 * environment is shared with the rest of the process.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  // Read as the schema reads it (trimmed), so that ` production` cannot slip past the production rules.
  const production = env.NODE_ENV?.trim() === 'production';
  const values = readVariables(env, ALL, {
    cwd,
    mode: production ? 'production' : 'other',
    rules: true,
    // Production never reads or writes the development secrets.
    devSecrets: production ? 'none' : 'create',
    devSecretsDir: options.devSecretsDir ?? resolve(cwd, 'keys'),
  });
  const appSecrets = values.META_APP_SECRET
    ? [values.META_APP_SECRET, ...(values.META_PREVIOUS_APP_SECRETS ?? [])]
    : [];
  const config: Config = {
    nodeEnv: values.NODE_ENV,
    host: values.HOST,
    port: values.PORT,
    privateKeyFile: resolve(cwd, values.FLOWS_PRIVATE_KEY_FILE),
    privateKeyPassphrase: values.FLOWS_PRIVATE_KEY_PASSPHRASE,
    previousPrivateKeyFiles: values.FLOWS_PREVIOUS_PRIVATE_KEY_FILES.map((p) => resolve(cwd, p)),
    previousPrivateKeyPassphrase: values.FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE ?? values.FLOWS_PRIVATE_KEY_PASSPHRASE,
    appSecrets,
    flowTokenSignature: values.FLOW_TOKEN_SIGNATURE,
    database: databaseConfig(values, cwd),
    flowTokens: {
      secrets: [values.FLOW_TOKEN_SECRET, ...(values.FLOW_TOKEN_PREVIOUS_SECRETS ?? [])],
      ttlSeconds: values.FLOW_TOKEN_TTL_SECONDS,
    },
    subjectHashKey: values.SUBJECT_HASH_KEY,
    submissionKeys: keyring(values.SUBMISSION_KEYS),
    tokenApiKey: values.TOKEN_API_KEY,
    handlerTimeoutMs: values.HANDLER_TIMEOUT_MS,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT,
    audit: { enabled: values.AUDIT_ENABLED, chains: values.AUDIT_CHAINS, batchMax: values.AUDIT_BATCH_MAX },
    submissionRetentionDays: values.SUBMISSION_RETENTION_DAYS,
    webConcurrency: values.WEB_CONCURRENCY,
    metricsPort: values.METRICS_PORT,
    metricsToken: values.METRICS_TOKEN,
    redisUrl: values.REDIS_URL,
    rateLimits: {
      perTokenPerMinute: values.RATE_LIMIT_PER_TOKEN_PER_MINUTE,
      failedPerIpPerMinute: values.RATE_LIMIT_FAILED_PER_IP_PER_MINUTE,
      tokenApiPerMinute: values.RATE_LIMIT_TOKEN_API_PER_MINUTE,
      globalPerSecond: values.RATE_LIMIT_GLOBAL_PER_SECOND,
    },
    trustProxy: values.TRUST_PROXY,
    webhook: {
      path: values.WEBHOOK_PATH,
      verifyToken: values.WEBHOOK_VERIFY_TOKEN,
      appSecrets: values.WEBHOOK_APP_SECRET ? [values.WEBHOOK_APP_SECRET] : appSecrets,
      bodyLimitBytes: values.WEBHOOK_BODY_LIMIT_BYTES,
      hookTimeoutMs: values.COMPLETION_HOOK_TIMEOUT_MS,
    },
    media: {
      allowedHosts: values.MEDIA_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
      allowLoopback: !production,
      maxFileBytes: values.MEDIA_MAX_FILE_BYTES,
      maxFilesPerPicker: values.MEDIA_MAX_FILES,
      connectTimeoutMs: values.MEDIA_CONNECT_TIMEOUT_MS,
      downloadTimeoutMs: values.MEDIA_DOWNLOAD_TIMEOUT_MS,
    },
    console: { port: values.CONSOLE_PORT, databaseUrl: values.CONSOLE_DATABASE_URL },
    tls:
      values.TLS_CERT_FILE !== undefined && values.TLS_KEY_FILE !== undefined
        ? { certFile: resolve(cwd, values.TLS_CERT_FILE), keyFile: resolve(cwd, values.TLS_KEY_FILE) }
        : undefined,
  };
  return deepFreeze(config);
}

/**
 * Some variables only, validated as loadConfig validates them (types, ranges, `<NAME>_FILE`) but
 * without the production requirements of the others: for tools that need nothing else, such as
 * `npm run audit -- verify` run by compliance staff, who should not have to hold the service's
 * secrets, or a CLI's defaults. Generated development secrets are read when they exist, never
 * created.
 */
export function loadVariables<const K extends VarName>(
  names: readonly K[],
  env: Env = process.env,
  options: LoadConfigOptions = {},
): Pick<EnvValues, K> {
  const cwd = options.cwd ?? process.cwd();
  return deepFreeze(
    readVariables(env, names, {
      cwd,
      mode: 'other',
      rules: true,
      devSecrets: env.NODE_ENV?.trim() === 'production' ? 'none' : 'read',
      devSecretsDir: options.devSecretsDir ?? resolve(cwd, 'keys'),
    }),
  );
}

/** Only the database settings, parsed like loadConfig parses them (see loadVariables). */
export function loadDatabaseConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config['database'] {
  const cwd = options.cwd ?? process.cwd();
  return deepFreeze(databaseConfig(loadVariables(DATABASE_VARIABLES, env, options), cwd));
}

const ALL = Object.keys(VARIABLES) as VarName[];
const DATABASE_VARIABLES = ['DATABASE_URL', 'DATABASE_SCHEMA', 'DATABASE_POOL_MAX', 'PGLITE_DATA_DIR'] as const;
const ORDER = new Map(ENV_SPEC.map((s, i) => [s.name as string, i]));

function databaseConfig(values: Pick<EnvValues, (typeof DATABASE_VARIABLES)[number]>, cwd: string): Config['database'] {
  const dir = values.PGLITE_DATA_DIR;
  return {
    url: values.DATABASE_URL,
    schema: values.DATABASE_SCHEMA,
    poolMax: values.DATABASE_POOL_MAX,
    pgliteDataDir: dir === 'memory://' || isAbsolute(dir) ? dir : resolve(cwd, dir),
  };
}

/** `id:base64key` items (their shape checked by the schema) → keys; the first seals new data. */
function keyring(items: readonly Secret[]): SubmissionKey[] {
  return items.map((item) => {
    const [id, b64] = item.reveal().split(':') as [string, string];
    return { id, key: new Secret(Buffer.from(b64, 'base64').toString('base64')) };
  });
}

interface ReadOptions {
  readonly cwd: string;
  readonly mode: Mode;
  readonly rules: boolean;
  readonly devSecrets: 'create' | 'read' | 'none';
  readonly devSecretsDir: string;
}

/** Words a flag may be written with, beyond AJV's own `true` and `false`. */
const FLAG_WORDS: Readonly<Record<string, string>> = {
  '1': 'true',
  yes: 'true',
  on: 'true',
  '0': 'false',
  no: 'false',
  off: 'false',
};

const schemas = new Map<string, Record<string, unknown>>();

/**
 * The environment's text for the given variables, validated by `env-schema` against the schema
 * built from the definition. What `env-schema` does not do is done first: a secret from its
 * `<NAME>_FILE`, an empty value as unset, surrounding blanks, lists split at commas, generated
 * development secrets; after validation, secrets are wrapped and key ids checked for repeats.
 */
function readVariables<K extends VarName>(env: Env, names: readonly K[], options: ReadOptions): Pick<EnvValues, K> {
  const problems: ConfigProblem[] = [];
  const data: Record<string, unknown> = {};
  let devSecrets: Record<string, string> | undefined;
  for (const name of names) {
    const def: VarDef = VARIABLES[name];
    let text: string | undefined;
    try {
      text = readText(env, name, def, options.cwd);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      continue;
    }
    if (text === undefined && def.devGenerated && options.devSecrets !== 'none') {
      devSecrets ??=
        options.devSecrets === 'create'
          ? loadOrCreateDevSecrets(options.devSecretsDir)
          : (readDevSecrets(options.devSecretsDir) ?? {});
      text = devSecrets[name];
    }
    if (text === undefined) continue;
    if (def.type.flag) text = FLAG_WORDS[text.toLowerCase()] ?? text.toLowerCase();
    else if (def.type.lowerCase) text = text.toLowerCase();
    data[name] = def.type.list ? splitList(text) : text;
  }

  const key = `${options.mode}:${options.rules}:${names.join(',')}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = buildSchema(names, options.mode, options.rules);
    schemas.set(key, schema);
  }
  let values: Record<string, unknown> = {};
  try {
    values = envSchema({ schema, data, env: false, ajv: configAjv });
  } catch (err) {
    const errors = (err as { errors?: ErrorObject[] }).errors;
    if (!errors) throw err;
    // A variable whose file could not be read is already named; its absence is not news.
    const named = new Set(problems.map((p) => p.variable.replace(/_FILE$/, '')));
    problems.push(...describeProblems(errors).filter((p) => !named.has(p.variable)));
  }
  if (Array.isArray(values.SUBMISSION_KEYS)) {
    const ids = (values.SUBMISSION_KEYS as string[]).map((item) => item.split(':')[0]);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined) problems.push({ variable: 'SUBMISSION_KEYS', message: `key id "${twice}" appears twice` });
  }

  const [first, ...more] = problems.sort(
    (a, b) => (ORDER.get(a.variable.replace(/_FILE$/, '')) ?? 0) - (ORDER.get(b.variable.replace(/_FILE$/, '')) ?? 0),
  );
  if (first) throw new ConfigError(first.variable, first.message, more);

  for (const name of names) {
    const value = values[name];
    if (!(VARIABLES[name] as VarDef).secret || value === undefined) continue;
    values[name] = Array.isArray(value) ? value.map((v) => new Secret(String(v))) : new Secret(String(value));
  }
  return values as Pick<EnvValues, K>;
}

/**
 * The text of a variable, or of `<NAME>_FILE` for a secret; undefined when unset or empty.
 * Secrets are taken as they are; other values without surrounding blanks.
 */
function readText(env: Env, name: string, def: VarDef, cwd: string): string | undefined {
  const direct = env[name];
  const fileVar = `${name}_FILE`;
  const file = def.secret ? env[fileVar] : undefined;
  if (direct !== undefined && direct !== '' && file) {
    throw new ConfigError(name, `set both ${name} and ${fileVar}; choose one`);
  }
  if (file) {
    let text: string;
    try {
      // Trailing newlines come from editors and `echo`; they are never part of a secret.
      text = readFileSync(resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(fileVar, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (text === '') throw new ConfigError(fileVar, `file ${file} is empty`);
    return text;
  }
  if (direct === undefined || direct === '') return undefined;
  return def.secret ? direct : direct.trim();
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Secret)) {
    Object.values(value as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
