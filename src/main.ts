import { loadConfig } from './config';
import { exitCodeOf, operatorMessage } from './errors';
import { run } from './lifecycle';

/**
 * The only caller of listen() (through src/lifecycle): config → keys → registrations → database →
 * app → lifecycle. A start-up problem prints one message and exits: a typed error (bad config,
 * key, registration, TLS files) its message as the error catalogue allows, anything else its class
 * and code (src/errors/for-operator.ts).
 */
async function main(): Promise<void> {
  try {
    await run(loadConfig());
  } catch (err) {
    process.stderr.write(`flowgate cannot start: ${operatorMessage(err)}\n`);
    process.exit(exitCodeOf(err));
  }
}

void main();
