import { ERROR_CATALOGUE } from '../../src/errors';
import { runCli } from '../helpers/cli';

/**
 * A built command stopped by a typed error exits with the code the error catalogue
 * (src/errors/catalogue.ts) gives it: `npm run consents` refuses an e-mail address in `--reason`
 * (InvalidActorError, a usage mistake) before it opens any database, with no wrapper of its own.
 */
describe('when a command stops on a typed error', () => {
  it('then it exits with the catalogue exit code, prints the usage, and never echoes the value', async () => {
    const r = await runCli('consents', [
      'withdraw',
      '--purpose',
      'marketing',
      '--phone',
      '+14155550100',
      '--operator',
      'ops',
      '--reason',
      'asked by jane.doe@example.org',
    ]);
    expect(r.code).toBe(ERROR_CATALOGUE.invalid_actor.exitCode);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: --reason looks like it holds an e-mail address/);
    expect(r.stderr).toContain('Usage: npm run consents');
    expect(r.stderr).not.toContain('jane.doe');
    expect(r.stderr).not.toContain('4155550100');
  });
});
