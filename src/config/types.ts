import type { Secret } from './secret';

export interface SubmissionKey {
  readonly id: string;
  /** base64 of 32 random bytes */
  readonly key: Secret;
}

export interface Config {
  readonly nodeEnv: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly privateKeyFile: string;
  readonly privateKeyPassphrase: Secret | undefined;
  readonly previousPrivateKeyFiles: readonly string[];
  readonly previousPrivateKeyPassphrase: Secret | undefined;
  /** Current app secret first, then the previous ones. Empty: signatures are not checked. */
  readonly appSecrets: readonly Secret[];
  /** FLOW_TOKEN_SIGNATURE: Data API 4.0's flow_token_signature required, or verified when present. */
  readonly flowTokenSignature: 'required' | 'verify';
  readonly database: {
    readonly url: Secret | undefined;
    readonly schema: string;
    readonly poolMax: number;
    readonly pgliteDataDir: string;
  };
  readonly flowTokens: {
    /** Signing key first, then keys still accepted for verification. */
    readonly secrets: readonly Secret[];
    readonly ttlSeconds: number;
  };
  readonly subjectHashKey: Secret;
  /** First key seals new data; all open old data. */
  readonly submissionKeys: readonly SubmissionKey[];
  readonly tokenApiKey: Secret | undefined;
  readonly handlerTimeoutMs: number;
  readonly bodyLimitBytes: number;
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  readonly logFormat: 'json' | 'pretty';
  readonly audit: { readonly enabled: boolean; readonly chains: number; readonly batchMax: number };
  readonly submissionRetentionDays: number;
  readonly webConcurrency: number | undefined;
  readonly metricsPort: number | undefined;
  readonly metricsToken: Secret | undefined;
  readonly redisUrl: Secret | undefined;
  readonly rateLimits: {
    readonly perTokenPerMinute: number;
    readonly failedPerIpPerMinute: number;
    /** Token API requests per address per sliding minute (shared store). */
    readonly tokenApiPerMinute: number;
    readonly globalPerSecond: number;
  };
  readonly trustProxy: boolean | number;
  readonly webhook: {
    readonly path: string;
    readonly verifyToken: Secret | undefined;
    /** Secrets that sign webhook notifications: WEBHOOK_APP_SECRET, else the app secrets. */
    readonly appSecrets: readonly Secret[];
    readonly bodyLimitBytes: number;
    readonly hookTimeoutMs: number;
  };
  /** Picker files (src/media): where they may come from, how big, how long. */
  readonly media: {
    readonly allowedHosts: readonly string[];
    readonly allowLoopback: boolean;
    readonly maxFileBytes: number;
    readonly maxFilesPerPicker: number;
    readonly connectTimeoutMs: number;
    readonly downloadTimeoutMs: number;
  };
  /** The compliance console (src/console/): off while `port` is undefined. */
  readonly console: { readonly port: number | undefined; readonly databaseUrl: Secret | undefined };
}
