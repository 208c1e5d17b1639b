import { dirname, join, resolve } from 'node:path';
import { checkKeys, generateKeys, readPassphraseFile, uploadInstructions } from '../devtools';
import { loadVariables } from '../config';
import { exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage:
  npm run keys -- generate [--out-dir keys] [--passphrase-file F] [--force]
  npm run keys -- check [--private F] [--public F] [--passphrase-file F]

generate  writes a 2048-bit RSA pair: <out-dir>/private.pem (mode 0600; encrypted when a
          passphrase file is given) and <out-dir>/public.pem, prints the public key and the
          Graph API call that uploads it. Refuses to overwrite existing keys without --force.
check     proves that the private key, its passphrase and the public key belong together.
          Defaults: --private FLOWS_PRIVATE_KEY_FILE or keys/private.pem, --public the
          public.pem beside it, the passphrase FLOWS_PRIVATE_KEY_PASSPHRASE(_FILE).`;

export async function keysCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    'out-dir': { type: 'string' },
    'passphrase-file': { type: 'string' },
    force: { type: 'boolean' },
    private: { type: 'string' },
    public: { type: 'string' },
  });
  const action = positionals[0];
  if (positionals.length !== 1 || (action !== 'generate' && action !== 'check')) {
    throw new UsageError(
      positionals.length === 0 ? 'say generate or check' : `unknown action "${positionals.join(' ')}"`,
    );
  }
  const passphraseFile = values['passphrase-file'];
  const passphrase = passphraseFile ? readPassphraseFile(passphraseFile) : undefined;
  if (action === 'generate') {
    if (values.private || values.public) throw new UsageError('--private and --public go with check');
    const keys = generateKeys({ outDir: resolve(values['out-dir'] ?? 'keys'), passphrase, force: values.force });
    io.out(`wrote ${keys.privateKeyFile} (mode 0600${keys.encrypted ? ', encrypted' : ', NOT encrypted'})`);
    io.out(`wrote ${keys.publicKeyFile} (${keys.fingerprint})`);
    io.out('');
    io.out(keys.publicKeyPem.trimEnd());
    io.out('');
    io.out(uploadInstructions(keys.publicKeyFile));
    return 0;
  }
  if (values['out-dir'] || values.force) throw new UsageError('--out-dir and --force go with generate');
  const configured = loadVariables(['FLOWS_PRIVATE_KEY_FILE', 'FLOWS_PRIVATE_KEY_PASSPHRASE']);
  const privateKeyFile = resolve(values.private ?? configured.FLOWS_PRIVATE_KEY_FILE);
  const publicKeyFile = resolve(values.public ?? join(dirname(privateKeyFile), 'public.pem'));
  const result = checkKeys({
    privateKeyFile,
    publicKeyFile,
    passphrase: passphrase ?? configured.FLOWS_PRIVATE_KEY_PASSPHRASE?.reveal(),
  });
  io.out(
    `ok: ${privateKeyFile} (${result.bits}-bit RSA${result.encrypted ? ', encrypted' : ''}) and ${publicKeyFile} ` +
      `belong together (${result.fingerprint})`,
  );
  return 0;
}

if (require.main === module) exitWith(runCommand(USAGE, keysCommand));
