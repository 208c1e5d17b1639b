import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Development convenience without default secrets: the first start outside production writes
 * random values to `keys/dev-secrets.json` (mode 0600, git-ignored) and later starts reuse them,
 * so flow tokens and stored submissions survive a restart. Production never reads this file.
 */
export function loadOrCreateDevSecrets(dir: string): Record<string, string> {
  const file = join(dir, 'dev-secrets.json');
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const values = parsed as Record<string, unknown>;
      if (Object.values(values).every((v) => typeof v === 'string')) {
        const merged = { ...fresh(), ...(values as Record<string, string>) };
        // A secret added in a newer version is generated once and kept, like the others.
        if (Object.keys(merged).length !== Object.keys(values).length) writeSecrets(file, merged);
        return merged;
      }
    }
    throw new Error(`${file} is not a JSON object of strings; delete it to regenerate`);
  }
  const values = fresh();
  mkdirSync(dir, { recursive: true });
  writeSecrets(file, values);
  return values;
}

/**
 * The generated development secrets if they exist, without creating them: for tools that talk to
 * a service running elsewhere (`npm run simulate`), where a new file would hold keys nobody uses.
 */
export function readDevSecrets(dir: string): Record<string, string> | undefined {
  return existsSync(join(dir, 'dev-secrets.json')) ? loadOrCreateDevSecrets(dir) : undefined;
}

function writeSecrets(file: string, values: Record<string, string>): void {
  writeFileSync(file, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function fresh(): Record<string, string> {
  return {
    FLOW_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    SUBJECT_HASH_KEY: randomBytes(32).toString('base64url'),
    SUBMISSION_KEYS: `dev1:${randomBytes(32).toString('base64')}`,
    TOKEN_API_KEY: randomBytes(24).toString('base64url'),
  };
}
