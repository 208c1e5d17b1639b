import { ConfigError, loadConfig } from './config';
import { PrivateKeyError } from './crypto';
import { RegistrationError } from './endpoint';
import { run } from './lifecycle';
import { TlsFilesError } from './tls';

/**
 * The only caller of listen() (through src/lifecycle): config → keys → registrations → database →
 * app → lifecycle. Start-up problems (bad config, key, registration, database) print one clear
 * message and exit 1.
 */
async function main(): Promise<void> {
  try {
    await run(loadConfig());
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof PrivateKeyError ||
      err instanceof RegistrationError ||
      err instanceof TlsFilesError
    ) {
      process.stderr.write(`flowgate cannot start: ${err.message}\n`);
    } else {
      process.stderr.write(`flowgate cannot start: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(1);
  }
}

void main();
