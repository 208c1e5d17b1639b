import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyPair } from '../../src/crypto';

export interface TestKeys {
  readonly dir: string;
  readonly privateKeyFile: string;
  readonly publicKeyPem: string;
  cleanup(): void;
}

/** A fresh RSA pair in a temporary folder (never in keys/). */
export function makeTestKeys(passphrase?: string): TestKeys {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-test-'));
  const pair = writeKeyPair(join(dir, 'private.pem'), passphrase);
  return {
    dir,
    privateKeyFile: pair.privateKeyFile,
    publicKeyPem: readFileSync(pair.publicKeyFile, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The database part of a test environment: PGlite in memory, or a private schema on DATABASE_URL. */
export function testDatabaseEnv(): Record<string, string> {
  const url = process.env.DATABASE_URL;
  if (url) return { DATABASE_URL: url, DATABASE_SCHEMA: `fgt_${randomBytes(6).toString('hex')}` };
  return { PGLITE_DATA_DIR: 'memory://' };
}

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A complete environment for loadConfig, with fresh secrets; override any variable. */
export function testEnv(
  keys: TestKeys,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    FLOWS_PRIVATE_KEY_FILE: keys.privateKeyFile,
    META_APP_SECRET: randomSecret(),
    FLOW_TOKEN_SECRET: randomSecret(),
    SUBJECT_HASH_KEY: randomSecret(),
    SUBMISSION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TOKEN_API_KEY: randomSecret(),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'debug',
    // Generous limits: suites that send many rejected requests from 127.0.0.1 must not be throttled.
    // Rate-limit tests set their own small values.
    RATE_LIMIT_PER_TOKEN_PER_MINUTE: '100000',
    RATE_LIMIT_FAILED_PER_IP_PER_MINUTE: '100000',
    RATE_LIMIT_GLOBAL_PER_SECOND: '1000000',
    ...testDatabaseEnv(),
    ...overrides,
  };
}

/**
 * A complete production environment for loadConfig: what testEnv gives plus what production asks
 * for besides (an app secret shaped as Meta issues it, PostgreSQL). Nothing connects while the
 * config loads, so the URL need not answer.
 */
export function productionEnv(
  keys: TestKeys,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return testEnv(keys, {
    NODE_ENV: 'production',
    META_APP_SECRET: randomBytes(16).toString('hex'),
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    PGLITE_DATA_DIR: undefined,
    ...overrides,
  });
}
