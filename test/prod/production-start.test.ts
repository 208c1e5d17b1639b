import { randomBytes } from 'node:crypto';
import { makeTestKeys, productionEnv, type TestKeys } from '../helpers/env';
import { spawnService } from '../helpers/spawn-service';

/**
 * A real start of the built service (`node dist/src/main.js`) with NODE_ENV=production: every
 * missing or weak variable is named in one message, before anything listens or connects.
 */
let keys: TestKeys;
beforeAll(() => {
  keys = makeTestKeys();
});
afterAll(() => keys.cleanup());

async function start(env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const svc = spawnService(env, keys.dir);
  try {
    const { code } = await svc.exited(60_000);
    return { code, stderr: svc.stderr.join('') };
  } finally {
    svc.kill('SIGKILL');
  }
}

describe('when production starts with several missing and weak variables', () => {
  it('then it exits 1 naming every one of them in a single message, and no secret value', async () => {
    const canary = `canary${randomBytes(8).toString('hex')}`;
    const { code, stderr } = await start(
      productionEnv(keys, {
        META_APP_SECRET: canary, // not Meta's 32 hex characters
        FLOW_TOKEN_SECRET: undefined,
        SUBJECT_HASH_KEY: '0'.repeat(32),
        SUBMISSION_KEYS: undefined,
        TOKEN_API_KEY: 'abc',
        DATABASE_URL: undefined,
        PGLITE_DATA_DIR: 'memory://',
      }),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/^flowgate cannot start: 6 problems in the configuration:\n/);
    for (const line of [
      '  - META_APP_SECRET: must be the app secret as Meta issues it',
      '  - FLOW_TOKEN_SECRET: is required when NODE_ENV=production',
      '  - SUBJECT_HASH_KEY: looks like a placeholder',
      '  - PGLITE_DATA_DIR: memory:// keeps submissions and the audit log in memory only',
      '  - TOKEN_API_KEY: must be at least 32 bytes long',
      '  - SUBMISSION_KEYS: is required when NODE_ENV=production',
    ]) {
      expect(stderr).toContain(line);
    }
    expect(stderr).not.toContain(canary);
    expect(stderr).not.toContain('0'.repeat(32));
  });

  it('then a complete production environment gets past the configuration (here: to the key file)', async () => {
    const missing = `${keys.dir}/absent.pem`;
    const { code, stderr } = await start(productionEnv(keys, { FLOWS_PRIVATE_KEY_FILE: missing }));
    expect(code).toBe(1);
    expect(stderr).toContain(`flowgate cannot start: ${missing}: file not found`);
    expect(stderr).not.toContain('problems in the configuration');
  });
});
