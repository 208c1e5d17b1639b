/**
 * Every environment variable flowgate reads, in one table. The loader parses exactly these; a test
 * keeps this table, the README's configuration table and `.env.example` in step.
 *
 * `secret: true` values are wrapped in `Secret` (never printed) and may instead be given as a file
 * through `<NAME>_FILE` (the usual way to mount secrets in containers). `devGenerated: true`
 * secrets are generated once into `keys/dev-secrets.json` outside production; in production they
 * are required. There are no default secrets.
 */
export interface VarSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
  readonly secret?: boolean;
  readonly devGenerated?: boolean;
  readonly requiredInProduction?: boolean;
}

export const ENV_SPEC: readonly VarSpec[] = [
  {
    name: 'NODE_ENV',
    default: 'development',
    description: '`development`, `test` or `production`. Production refuses to start without keys and secrets.',
  },
  { name: 'HOST', default: '127.0.0.1', description: 'Address to listen on.' },
  { name: 'PORT', default: '3000', description: 'Port to listen on (0 picks a free port).' },
  {
    name: 'FLOWS_PRIVATE_KEY_FILE',
    default: 'keys/private.pem',
    requiredInProduction: true,
    description:
      'PEM file of the RSA private key (PKCS#1, PKCS#8, encrypted or not). Outside production a development pair is generated here when missing.',
  },
  {
    name: 'FLOWS_PRIVATE_KEY_PASSPHRASE',
    secret: true,
    description: 'Passphrase of the private key, if it is encrypted. A wrong passphrase stops the start.',
  },
  {
    name: 'FLOWS_PREVIOUS_PRIVATE_KEY_FILES',
    default: '',
    description: 'Comma-separated PEM files of earlier keys, tried after the current one during a key rotation.',
  },
  {
    name: 'FLOWS_PREVIOUS_PRIVATE_KEY_PASSPHRASE',
    secret: true,
    description: 'Passphrase of the previous keys (defaults to FLOWS_PRIVATE_KEY_PASSPHRASE).',
  },
  {
    name: 'META_APP_SECRET',
    secret: true,
    requiredInProduction: true,
    description: 'Meta app secret; when set, every request must carry a valid `X-Hub-Signature-256` (else 432).',
  },
  {
    name: 'META_PREVIOUS_APP_SECRETS',
    secret: true,
    description: 'Comma-separated earlier app secrets still accepted during an app-secret rotation.',
  },
  {
    name: 'FLOW_TOKEN_SIGNATURE',
    description:
      '`required` or `verify` (default: `required` in production): must flows on Flow JSON 7.3+ with data API 4.0 send `flow_token_signature` (else 427)?',
  },
  {
    name: 'DATABASE_URL',
    secret: true,
    description: 'PostgreSQL connection string. Unset: the embedded PGlite database in PGLITE_DATA_DIR.',
  },
  { name: 'DATABASE_SCHEMA', default: 'public', description: "PostgreSQL schema holding flowgate's tables." },
  {
    name: 'DATABASE_POOL_MAX',
    default: '10',
    description: 'Connections per worker process (PostgreSQL only; PGlite has one).',
  },
  {
    name: 'PGLITE_DATA_DIR',
    default: '.data/pglite',
    description: 'Folder of the embedded database (used when DATABASE_URL is unset); `memory://` keeps it in memory.',
  },
  {
    name: 'FLOW_TOKEN_SECRET',
    secret: true,
    devGenerated: true,
    requiredInProduction: true,
    description: 'HMAC key (at least 32 bytes) that signs flow tokens.',
  },
  {
    name: 'FLOW_TOKEN_PREVIOUS_SECRETS',
    secret: true,
    description: 'Comma-separated earlier token keys still accepted for verification.',
  },
  { name: 'FLOW_TOKEN_TTL_SECONDS', default: '86400', description: 'Default lifetime of an issued flow token.' },
  {
    name: 'SUBJECT_HASH_KEY',
    secret: true,
    devGenerated: true,
    requiredInProduction: true,
    description:
      'HMAC key (at least 32 bytes) that turns phone numbers into pseudonymous subjects. Changing it orphans existing subjects.',
  },
  {
    name: 'SUBMISSION_KEYS',
    secret: true,
    devGenerated: true,
    requiredInProduction: true,
    description:
      'Keyring for data at rest: `id:base64key,…` with 32-byte keys; the first is current, the rest stay readable.',
  },
  {
    name: 'TOKEN_API_KEY',
    secret: true,
    devGenerated: true,
    description:
      'Bearer key of the token API (`/api/tokens`). Unset: generated in `keys/dev-secrets.json` outside production; in production the API answers 404.',
  },
  {
    name: 'HANDLER_TIMEOUT_MS',
    default: '8000',
    description: 'Budget of a screen handler; WhatsApp gives up at 10 s.',
  },
  { name: 'BODY_LIMIT_BYTES', default: '1048576', description: 'Largest request body accepted (else 413).' },
  { name: 'LOG_LEVEL', default: 'info', description: '`error`, `warn`, `info` or `debug`.' },
  { name: 'LOG_FORMAT', description: '`json` or `pretty` (default: json in production, pretty otherwise).' },
  {
    name: 'AUDIT_ENABLED',
    default: 'true',
    description: 'Write an audit event per request. Switch off only to measure its cost.',
  },
  {
    name: 'AUDIT_CHAINS',
    default: '8',
    description: 'Number of parallel hash chains in the audit log (more chains, less lock waiting).',
  },
  { name: 'AUDIT_BATCH_MAX', default: '256', description: 'Most events written in one group commit.' },
  {
    name: 'SUBMISSION_RETENTION_DAYS',
    default: '365',
    description: 'Age after which `npm run submissions -- purge` deletes submissions.',
  },
  {
    name: 'WEB_CONCURRENCY',
    description: 'Worker processes (default: one per core with DATABASE_URL, one with PGlite).',
  },
  {
    name: 'METRICS_PORT',
    description:
      'Port of the Prometheus `/metrics` listener (on HOST). Unset: metrics are served on the main port only with METRICS_TOKEN.',
  },
  { name: 'METRICS_TOKEN', secret: true, description: 'Bearer token that protects `/metrics` on the main port.' },
  {
    name: 'REDIS_URL',
    secret: true,
    description:
      'Redis (`redis://[:password@]host:port[/db]`, or `rediss://` for TLS) for shared rate-limit counters. Unset: PostgreSQL with DATABASE_URL, process memory with PGlite.',
  },
  {
    name: 'RATE_LIMIT_PER_TOKEN_PER_MINUTE',
    default: '60',
    description: 'Requests one flow token may make per minute.',
  },
  {
    name: 'RATE_LIMIT_FAILED_PER_IP_PER_MINUTE',
    default: '30',
    description: 'Rejected requests (400, 404, 413, 415, 421, 432, 500) one address may cause per minute.',
  },
  {
    name: 'RATE_LIMIT_TOKEN_API_PER_MINUTE',
    default: '600',
    description:
      'Requests one address may make to the token API per sliding minute, failed authentications included; counted in the shared store.',
  },
  {
    name: 'RATE_LIMIT_GLOBAL_PER_SECOND',
    default: '2000',
    description: 'Ceiling on requests per second for the whole service.',
  },
  {
    name: 'WEBHOOK_PATH',
    default: '/webhook',
    description:
      'Path of the WhatsApp Business webhook (GET verification handshake, POST notifications: completion replies, flow health alerts).',
  },
  {
    name: 'WEBHOOK_VERIFY_TOKEN',
    secret: true,
    description:
      "Verify Token typed into Meta's app dashboard when subscribing the webhook; unset, the GET handshake answers 403.",
  },
  {
    name: 'WEBHOOK_APP_SECRET',
    secret: true,
    description:
      'Secret of the app subscribed to the webhook, when it is not the app of META_APP_SECRET (default: META_APP_SECRET and META_PREVIOUS_APP_SECRETS).',
  },
  {
    name: 'WEBHOOK_BODY_LIMIT_BYTES',
    default: '4194304',
    description: 'Largest webhook notification accepted (else 413); WhatsApp batches up to 1000 updates.',
  },
  {
    name: 'COMPLETION_HOOK_TIMEOUT_MS',
    default: '5000',
    description: "Budget of a flow's `onComplete` hook after a completion reply was stored.",
  },
  {
    name: 'TLS_CERT_FILE',
    description:
      'PEM chain (server certificate first) for native HTTPS on every listener, reloaded on SIGHUP or file change. Unset: plain HTTP.',
  },
  {
    name: 'TLS_KEY_FILE',
    description: 'Unencrypted PEM private key of TLS_CERT_FILE. An expired or mismatched pair stops the start.',
  },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    description: 'Express `trust proxy` setting (e.g. `1` behind one load balancer), for the client address.',
  },
  {
    name: 'MEDIA_ALLOWED_HOSTS',
    default: 'mmg.whatsapp.net',
    description:
      'Comma-separated hosts (`*.example.net` for subdomains) picker files may be downloaded from, over https only. Outside production loopback http is allowed too.',
  },
  {
    name: 'MEDIA_MAX_FILE_BYTES',
    default: '26214400',
    description:
      "Largest picker file accepted, decrypted (25 MiB, Meta's maximum); the picker's max-file-size-kb may lower it.",
  },
  { name: 'MEDIA_MAX_FILES', default: '30', description: 'Files one picker value may hold (Meta allows 30).' },
  {
    name: 'MEDIA_CONNECT_TIMEOUT_MS',
    default: '2000',
    description:
      "Longest wait to connect to the media CDN; with MEDIA_DOWNLOAD_TIMEOUT_MS it keeps a handler inside WhatsApp's 10 s.",
  },
  {
    name: 'MEDIA_DOWNLOAD_TIMEOUT_MS',
    default: '6000',
    description: 'Longest one picker file download may take, connection included (also cut by HANDLER_TIMEOUT_MS).',
  },
  {
    name: 'CONSOLE_PORT',
    description:
      'Port of the read-only compliance console (on HOST). Unset: no console. Over plain HTTP only outside production; in production it needs HTTPS (a TLS proxy with TRUST_PROXY).',
  },
  {
    name: 'CONSOLE_DATABASE_URL',
    secret: true,
    description:
      'PostgreSQL login the console reads with (a member of `flowgate_compliance` only). Unset: DATABASE_URL, switched to that role for every read.',
  },
];
