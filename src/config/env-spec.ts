/**
 * Every environment variable flowgate reads, defined once: its type (a JSON Schema fragment that
 * `env-schema` validates on AJV, src/config/schema.ts), default, whether it is secret, its
 * description and its production rules. The loader (src/config/load-config.ts), the README's
 * configuration table and `.env.example` all follow this table; test/unit/docs-in-step.test.ts
 * keeps the documents in step with it.
 *
 * `secret: true` values are wrapped in `Secret` (never printed, never quoted in an error) and may
 * instead be given as a file through `<NAME>_FILE` (the usual way to mount secrets in containers).
 * `devGenerated: true` secrets are generated once into `keys/dev-secrets.json` outside production;
 * in production they are required. There are no default secrets.
 */
import type { Secret } from './secret';

type Schema = Record<string, unknown>;

/**
 * How a variable's text becomes a value: the JSON Schema its (coerced) value must match. `problem`
 * annotations beside a rule are what the error says when that rule fails (schema.ts), so each
 * message sits next to the rule it explains. `__value` only carries the TypeScript type.
 */
export interface ValueType<T> {
  readonly schema: Schema;
  /** Comma-separated: split into trimmed items before validation. */
  readonly list?: true;
  /** true/false, also written 1/0, yes/no, on/off in any case. */
  readonly flag?: true;
  /** Compared in lower case (`TRUE`, `False`). */
  readonly lowerCase?: true;
  readonly __value?: T;
}

/**
 * A whole number in [min, max]. AJV's coercion alone would also take `1e6`, `0x10` or ` 12`; the
 * first branch holds the text to plain digits before the second coerces and checks the range.
 */
function whole(min: number, max: number): ValueType<number> {
  return {
    schema: {
      allOf: [
        { type: 'string', pattern: '^[0-9]+$', problem: 'must be a whole number' },
        { type: 'integer', minimum: min, maximum: max, problem: `must be between ${min} and ${max}` },
      ],
    },
  };
}

function oneOf<const V extends readonly string[]>(values: V): ValueType<V[number]> {
  return { schema: { type: 'string', enum: values, problem: `must be one of ${values.join(', ')}` } };
}

function text(pattern?: string, problem?: string): ValueType<string> {
  return {
    schema: {
      type: 'string',
      minLength: 1,
      problem: 'must not be empty',
      ...(pattern === undefined ? {} : { allOf: [{ pattern, problem }] }),
    },
  };
}

function list<T>(item: ValueType<T>): ValueType<T[]> {
  return {
    list: true,
    schema: {
      type: 'array',
      items: {
        allOf: [
          { type: 'string', minLength: 1, problem: 'has an empty item in its comma-separated list' },
          item.schema,
        ],
      },
    },
  };
}

const port = whole(0, 65535);
const flag: ValueType<boolean> = { flag: true, schema: { type: 'boolean', problem: 'must be true or false' } };
const trustProxy: ValueType<boolean | number> = {
  lowerCase: true,
  schema: { type: ['boolean', 'integer'], minimum: 0, problem: 'must be true, false or a number of proxies' },
};
const postgresUrl = text('^postgres(ql)?://', 'must start with postgres:// or postgresql://');
/** HMAC and bearer keys: at least 32 bytes and not a placeholder (the `randomKey` keyword, schema.ts). */
const randomKey: ValueType<string> = { schema: { type: 'string', randomKey: true } };
/**
 * Meta issues app secrets as 32 hexadecimal characters (App Dashboard → App settings → Basic,
 * https://developers.facebook.com/documentation/development/create-an-app/app-dashboard/basic-settings;
 * secret scanners match them as 32 hex characters). In production anything shorter or otherwise
 * shaped is a paste error or a made-up value, and would make every signature check fail (432).
 */
const metaAppSecret: Schema = {
  pattern: '^[0-9a-fA-F]{32,}$',
  problem: 'must be the app secret as Meta issues it: 32 (or more) hexadecimal characters, from App settings → Basic',
};
/** The keyring's items: `id:base64` of exactly 32 bytes (43 base64 characters, padded or not). */
const keyringItem = text(
  '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=?$',
  'each item must look like id:base64key (id: letters, digits, _ or -; key: 32 bytes, e.g. `openssl rand -base64 32`)',
);

export interface VarDef {
  readonly type: ValueType<unknown>;
  readonly description: string;
  /** As it would be written in the environment; parsed like a value that was set. */
  readonly default?: string;
  readonly secret?: true;
  readonly devGenerated?: true;
  /** Rules that hold only when NODE_ENV=production. */
  readonly production?: {
    /** Required in production; the text says why (empty: no explanation). */
    readonly required?: string;
    /** Default in production, instead of `default`. */
    readonly default?: string;
    /** A further rule on the value (on each item of a list), with its `problem`. */
    readonly schema?: Schema;
  };
}

export const VARIABLES = {
  NODE_ENV: {
    type: oneOf(['development', 'test', 'production']),
    default: 'development',
    description: '`development`, `test` or `production`. Production refuses to start without keys and secrets.',
  },
  HOST: { type: text(), default: '127.0.0.1', description: 'Address to listen on.' },
  PORT: { type: port, default: '3000', description: 'Port to listen on (0 picks a free port).' },
  FLOWS_PRIVATE_KEY_FILE: {
    type: text(),
    default: 'keys/private.pem',
    // Without this a production start silently used a development key left in keys/.
    production: { required: '' },
    description:
      'PEM file of the RSA private key (PKCS#1, PKCS#8, encrypted or not). Outside production a development pair is generated here when missing.',
  },
  FLOWS_PRIVATE_KEY_PASSPHRASE: {
    type: text(),
    secret: true,
    description: 'Passphrase of the private key, if it is encrypted. A wrong passphrase stops the start.',
  },
  FLOWS_PREVIOUS_PRIVATE_KEY_FILES: {
    type: list(text()),
    default: '',
    description: 'Comma-separated PEM files of earlier keys, tried after the current one during a key rotation.',
  },
  FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE: {
    type: text(),
    secret: true,
    description: 'Passphrase of the previous keys (defaults to FLOWS_PRIVATE_KEY_PASSPHRASE).',
  },
  META_APP_SECRET: {
    type: text(),
    secret: true,
    production: { required: 'no default secrets', schema: metaAppSecret },
    description: 'Meta app secret; when set, every request must carry a valid `X-Hub-Signature-256` (else 432).',
  },
  META_PREVIOUS_APP_SECRETS: {
    type: list(text()),
    secret: true,
    production: { schema: metaAppSecret },
    description: 'Comma-separated earlier app secrets still accepted during an app-secret rotation.',
  },
  FLOW_TOKEN_SIGNATURE: {
    type: oneOf(['required', 'verify']),
    default: 'verify',
    // Data API 4.0 (src/protocol/NOTES.md): production insists on the signature.
    production: { default: 'required' },
    description:
      '`required` or `verify` (default: `required` in production): must flows on Flow JSON 7.3+ with data API 4.0 send `flow_token_signature` (else 427)?',
  },
  DATABASE_URL: {
    type: postgresUrl,
    secret: true,
    description: 'PostgreSQL connection string. Unset: the embedded PGlite database in PGLITE_DATA_DIR.',
  },
  DATABASE_SCHEMA: {
    type: text('^[a-z_][a-z0-9_]{0,62}$', 'must be a lower-case SQL identifier (letters, digits, underscore)'),
    default: 'public',
    description: "PostgreSQL schema holding flowgate's tables.",
  },
  DATABASE_POOL_MAX: {
    type: whole(1, 1000),
    default: '10',
    description: 'Connections per worker process (PostgreSQL only; PGlite has one).',
  },
  PGLITE_DATA_DIR: {
    type: text(),
    default: '.data/pglite',
    description: 'Folder of the embedded database (used when DATABASE_URL is unset); `memory://` keeps it in memory.',
  },
  FLOW_TOKEN_SECRET: {
    type: randomKey,
    secret: true,
    devGenerated: true,
    production: { required: 'no default secrets' },
    description: 'HMAC key (at least 32 bytes) that signs flow tokens.',
  },
  FLOW_TOKEN_PREVIOUS_SECRETS: {
    type: list(randomKey),
    secret: true,
    description: 'Comma-separated earlier token keys still accepted for verification.',
  },
  FLOW_TOKEN_TTL_SECONDS: {
    type: whole(60, 90 * 86400),
    default: '86400',
    description: 'Default lifetime of an issued flow token.',
  },
  SUBJECT_HASH_KEY: {
    type: randomKey,
    secret: true,
    devGenerated: true,
    production: { required: 'no default secrets' },
    description:
      'HMAC key (at least 32 bytes) that turns phone numbers into pseudonymous subjects. Changing it orphans existing subjects.',
  },
  SUBMISSION_KEYS: {
    type: list(keyringItem),
    secret: true,
    devGenerated: true,
    production: { required: 'no default secrets' },
    description:
      'Keyring for data at rest: `id:base64key,…` with 32-byte keys; the first is current, the rest stay readable.',
  },
  TOKEN_API_KEY: {
    type: text(),
    secret: true,
    devGenerated: true,
    production: { schema: { randomKey: true } },
    description:
      'Bearer key of the token API (`/api/tokens`). Unset: generated in `keys/dev-secrets.json` outside production; in production the API answers 404.',
  },
  HANDLER_TIMEOUT_MS: {
    type: whole(100, 9500),
    default: '8000',
    description: 'Budget of a screen handler; WhatsApp gives up at 10 s.',
  },
  BODY_LIMIT_BYTES: {
    type: whole(1024, 16 * 1024 * 1024),
    default: '1048576',
    description: 'Largest request body accepted (else 413).',
  },
  LOG_LEVEL: {
    type: oneOf(['error', 'warn', 'info', 'debug']),
    default: 'info',
    description: '`error`, `warn`, `info` or `debug`.',
  },
  LOG_FORMAT: {
    type: oneOf(['json', 'pretty']),
    default: 'pretty',
    production: { default: 'json' },
    description: '`json` or `pretty` (default: json in production, pretty otherwise).',
  },
  AUDIT_ENABLED: {
    type: flag,
    default: 'true',
    description: 'Write an audit event per request. Switch off only to measure its cost.',
  },
  AUDIT_CHAINS: {
    type: whole(1, 64),
    default: '8',
    description: 'Number of parallel hash chains in the audit log (more chains, less lock waiting).',
  },
  AUDIT_BATCH_MAX: { type: whole(1, 5000), default: '256', description: 'Most events written in one group commit.' },
  SUBMISSION_RETENTION_DAYS: {
    type: whole(1, 36500),
    default: '365',
    description: 'Age after which `npm run submissions -- purge` deletes submissions.',
  },
  WEB_CONCURRENCY: {
    type: whole(1, 256),
    description: 'Worker processes (default: one per core with DATABASE_URL, one with PGlite).',
  },
  METRICS_PORT: {
    type: port,
    description:
      'Port of the Prometheus `/metrics` listener (on HOST). Unset: metrics are served on the main port only with METRICS_TOKEN.',
  },
  METRICS_TOKEN: {
    type: text(),
    secret: true,
    production: { schema: { randomKey: true } },
    description: 'Bearer token that protects `/metrics` on the main port.',
  },
  REDIS_URL: {
    type: text(),
    secret: true,
    description:
      'Redis (`redis://[:password@]host:port[/db]`, or `rediss://` for TLS) for shared rate-limit counters. Unset: PostgreSQL with DATABASE_URL, process memory with PGlite.',
  },
  RATE_LIMIT_PER_TOKEN_PER_MINUTE: {
    type: whole(1, 100000),
    default: '60',
    description: 'Requests one flow token may make per minute.',
  },
  RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: {
    type: whole(1, 100000),
    default: '30',
    description: 'Rejected requests (400, 404, 413, 415, 421, 432, 500) one address may cause per minute.',
  },
  RATE_LIMIT_TOKEN_API_PER_MINUTE: {
    type: whole(1, 100000),
    default: '600',
    description:
      'Requests one address may make to the token API per sliding minute, failed authentications included; counted in the shared store.',
  },
  RATE_LIMIT_GLOBAL_PER_SECOND: {
    type: whole(1, 1000000),
    default: '2000',
    description: 'Ceiling on requests per second for the whole service.',
  },
  WEBHOOK_PATH: {
    type: text(
      '^(?!/flows/|/api/)/[A-Za-z0-9._~/-]{0,200}$',
      'must be a path like /webhook (letters, digits, . _ ~ / -), outside /flows/ and /api/',
    ),
    default: '/webhook',
    description:
      'Path of the WhatsApp Business webhook (GET verification handshake, POST notifications: completion replies, flow health alerts).',
  },
  WEBHOOK_VERIFY_TOKEN: {
    type: text(),
    secret: true,
    description:
      "Verify Token typed into Meta's app dashboard when subscribing the webhook; unset, the GET handshake answers 403.",
  },
  WEBHOOK_APP_SECRET: {
    type: text(),
    secret: true,
    description:
      'Secret of the app subscribed to the webhook, when it is not the app of META_APP_SECRET (default: META_APP_SECRET and META_PREVIOUS_APP_SECRETS).',
  },
  WEBHOOK_BODY_LIMIT_BYTES: {
    type: whole(1024, 64 * 1024 * 1024),
    default: '4194304',
    description: 'Largest webhook notification accepted (else 413); WhatsApp batches up to 1000 updates.',
  },
  COMPLETION_HOOK_TIMEOUT_MS: {
    type: whole(100, 60_000),
    default: '5000',
    description: "Budget of a flow's `onComplete` hook after a completion reply was stored.",
  },
  TLS_CERT_FILE: {
    type: text(),
    description:
      'PEM chain (server certificate first) for native HTTPS on every listener, reloaded on SIGHUP or file change. Unset: plain HTTP.',
  },
  TLS_KEY_FILE: {
    type: text(),
    description: 'Unencrypted PEM private key of TLS_CERT_FILE. An expired or mismatched pair stops the start.',
  },
  TRUST_PROXY: {
    type: trustProxy,
    default: 'false',
    description: 'Express `trust proxy` setting (e.g. `1` behind one load balancer), for the client address.',
  },
  MEDIA_ALLOWED_HOSTS: {
    type: list(
      text(
        '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$',
        'has an item that is not a host name or *.domain',
      ),
    ),
    default: 'mmg.whatsapp.net',
    description:
      'Comma-separated hosts (`*.example.net` for subdomains) picker files may be downloaded from, over https only. Outside production loopback http is allowed too.',
  },
  MEDIA_MAX_FILE_BYTES: {
    type: whole(1024, 25 * 1024 * 1024),
    default: '26214400',
    description:
      "Largest picker file accepted, decrypted (25 MiB, Meta's maximum); the picker's max-file-size-kb may lower it.",
  },
  MEDIA_MAX_FILES: {
    type: whole(1, 30),
    default: '30',
    description: 'Files one picker value may hold (Meta allows 30).',
  },
  MEDIA_CONNECT_TIMEOUT_MS: {
    type: whole(100, 9000),
    default: '2000',
    description:
      "Longest wait to connect to the media CDN; with MEDIA_DOWNLOAD_TIMEOUT_MS it keeps a handler inside WhatsApp's 10 s.",
  },
  MEDIA_DOWNLOAD_TIMEOUT_MS: {
    type: whole(100, 9500),
    default: '6000',
    description: 'Longest one picker file download may take, connection included (also cut by HANDLER_TIMEOUT_MS).',
  },
  CONSOLE_PORT: {
    type: port,
    description:
      'Port of the read-only compliance console (on HOST). Unset: no console. Over plain HTTP only outside production; in production it needs HTTPS (a TLS proxy with TRUST_PROXY).',
  },
  CONSOLE_DATABASE_URL: {
    type: postgresUrl,
    secret: true,
    description:
      'PostgreSQL login the console reads with (a member of `flowgate_compliance` only). Unset: DATABASE_URL, switched to that role for every read.',
  },
  FLOWGATE_DEBUG: {
    type: flag,
    default: 'false',
    description:
      '`true` (or `1`): an unexpected error that stops a CLI or the start shows where it was thrown (its stack frames, never its message).',
  },
} as const satisfies Record<string, VarDef>;

export type VarName = keyof typeof VARIABLES;

/**
 * Rules between variables: when `when` holds (a JSON Schema of the environment), every variable
 * of `require` must be set, else `variable` gets `problem`.
 */
export interface CrossRule {
  readonly variable: VarName;
  readonly when: Readonly<Partial<Record<VarName, Schema>>>;
  readonly require: readonly VarName[];
  readonly problem: string;
  readonly productionOnly?: true;
}

export const CROSS_RULES: readonly CrossRule[] = [
  {
    variable: 'META_PREVIOUS_APP_SECRETS',
    when: { META_PREVIOUS_APP_SECRETS: {} },
    require: ['META_APP_SECRET'],
    problem: 'is set but META_APP_SECRET is not',
  },
  {
    variable: 'FLOW_TOKEN_SIGNATURE',
    when: { FLOW_TOKEN_SIGNATURE: { const: 'required' } },
    require: ['META_APP_SECRET'],
    problem: 'is required but META_APP_SECRET is not set (nothing to verify with)',
  },
  // Half a TLS pair is a typo, not plain HTTP.
  {
    variable: 'TLS_KEY_FILE',
    when: { TLS_CERT_FILE: {} },
    require: ['TLS_KEY_FILE'],
    problem: 'is required when TLS_CERT_FILE is set',
  },
  {
    variable: 'TLS_CERT_FILE',
    when: { TLS_KEY_FILE: {} },
    require: ['TLS_CERT_FILE'],
    problem: 'is required when TLS_KEY_FILE is set',
  },
  {
    variable: 'CONSOLE_DATABASE_URL',
    when: { CONSOLE_DATABASE_URL: {} },
    require: ['DATABASE_URL'],
    problem: 'is set but DATABASE_URL is not (PGlite has no logins)',
  },
  // Production never runs on the embedded PGlite database: it serves one process, lives on this
  // host's disk only, has no separate read-only login for compliance staff, and its compliance
  // commands need the service stopped; `memory://` would also lose every submission and audit
  // event at exit (README, "Running in production").
  {
    variable: 'PGLITE_DATA_DIR',
    when: { PGLITE_DATA_DIR: { const: 'memory://' } },
    require: ['DATABASE_URL'],
    problem:
      'memory:// keeps submissions and the audit log in memory only; refused when NODE_ENV=production (set DATABASE_URL)',
    productionOnly: true,
  },
  {
    variable: 'DATABASE_URL',
    when: { PGLITE_DATA_DIR: { not: { const: 'memory://' } } },
    require: ['DATABASE_URL'],
    problem: 'is required when NODE_ENV=production (the embedded PGlite database is for development and tests)',
    productionOnly: true,
  },
];

type Def<K extends VarName> = (typeof VARIABLES)[K];
type AsSecret<T> = T extends string ? Secret : T extends readonly (infer I)[] ? AsSecret<I>[] : T;
type Parsed<D> = D extends { readonly type: ValueType<infer T> }
  ? D extends { secret: true }
    ? AsSecret<T>
    : T
  : never;
/** Always set: it has a default, or is generated outside production and required in it. */
type AlwaysSet<D> = D extends { default: string }
  ? true
  : D extends { devGenerated: true; production: { required: string } }
    ? true
    : false;

/** The environment, validated and typed: what the definition above says each variable holds. */
export type EnvValues = {
  readonly [K in VarName]: AlwaysSet<Def<K>> extends true ? Parsed<Def<K>> : Parsed<Def<K>> | undefined;
};

/** The definition as a flat list, in order: what the README table and `.env.example` follow. */
export interface VarSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
  readonly secret?: boolean;
  readonly devGenerated?: boolean;
  readonly requiredInProduction?: boolean;
}

export const ENV_SPEC: readonly VarSpec[] = (Object.entries(VARIABLES) as [VarName, VarDef][]).map(([name, d]) => ({
  name,
  description: d.description,
  default: d.default,
  secret: d.secret === true,
  devGenerated: d.devGenerated === true,
  requiredInProduction: d.production?.required !== undefined,
}));
