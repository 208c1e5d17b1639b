import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  deliverCompletion,
  InteractiveDriver,
  LineReader,
  PickerFiles,
  parseWalkScript,
  readPassphraseFile,
  ScriptDriver,
  Simulator,
  formatMismatch,
  type Driver,
} from '../devtools';
import { buildRegistry } from '../endpoint';
import { registeredFlows } from '../flows/registered';
import { loadVariables } from '../config';
import { paths } from '../paths';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';

const USAGE = `Usage: npm run simulate -- <flow-id> [--url http://127.0.0.1:3000] [--script steps.json]
          [--public-key keys/public.pem] [--app-secret-file F] [--token T] [--phone +E164] [--skip-ping]
          [--webhook URL]
          [--data-api-version 3.0|4.0]

Plays WhatsApp against a running endpoint (npm start): sends the health check (ping) and INIT,
shows each screen, asks for
its inputs (or takes them from --script), sends the data_exchange payload the Flow JSON binds,
encrypted and signed like WhatsApp, and checks every reply against the target screen's data
declaration and the routing model.

--url              the service (the flow is POST <url>/flows/<flow-id>)
--script           a walk file (see src/flows/book-appointment/walk.steps.json); any mismatch,
                   error reply, non-200, or bad body exits 1
--public-key       the public key WhatsApp encrypts to (the service's keys/public.pem)
--app-secret-file  sign requests with this app secret (default: META_APP_SECRET(_FILE) if set); on
                   Data API 4.0 it also signs flow_token_signature
--data-api-version the request version to send (default: the Flow JSON's data_api_version), e.g.
                   3.0 to walk a 4.0 flow as a client on the older data API
--token            a flow token; default: issue one through <url>/api/tokens with TOKEN_API_KEY
                   (environment, or keys/dev-secrets.json as npm start generates it)
--webhook          when the flow closes on the device (complete), deliver the reply to this webhook
                   as WhatsApp would (nfm_reply, signed), e.g. --webhook /webhook (resolved
                   against --url)

PhotoPicker/DocumentPicker inputs take local files (interactively: paths, comma-separated; in a
script: {"$files": ["a.jpg"]}, relative to the script): the simulator encrypts them as WhatsApp
does and serves them from a CDN stand-in on a loopback port (the service must not be in production).`;

export async function simulateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    url: { type: 'string' },
    script: { type: 'string' },
    'app-secret-file': { type: 'string' },
    'public-key': { type: 'string' },
    token: { type: 'string' },
    phone: { type: 'string' },
    'skip-ping': { type: 'boolean' },
    webhook: { type: 'string' },
    'data-api-version': { type: 'string' },
  });
  const dataApiVersion = values['data-api-version'];
  if (dataApiVersion !== undefined && !['3.0', '4.0'].includes(dataApiVersion)) {
    throw new UsageError(`--data-api-version must be 3.0 or 4.0, got "${dataApiVersion}"`);
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one flow id');
  const flowId = positionals[0] as string;
  const script = values.script ? parseWalkScript(readText(values.script, 'script'), values.script) : undefined;
  if (script?.flow !== undefined && script.flow !== flowId) {
    throw new UsageError(`${values.script} is a walk of flow "${script.flow}", not "${flowId}"`);
  }
  const registry = buildRegistry(registeredFlows, { schemaOverridesDir: paths.schemaOverrides });
  const flow = registry.get(flowId);
  if (!flow) throw new CommandError(`no registered flow "${flowId}" (registered: ${[...registry.keys()].join(', ')})`);

  const base = values.url ?? `http://127.0.0.1:${loadVariables(['PORT']).PORT}`;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url "${base}" is not a URL`);
  }
  const endpoint = new URL(`flows/${flowId}`, url.href.endsWith('/') ? url.href : `${url.href}/`).href;
  const publicKey = loadPublicKey(resolve(values['public-key'] ?? 'keys/public.pem'));
  const appSecret = values['app-secret-file']
    ? readPassphraseFile(values['app-secret-file'])
    : loadVariables(['META_APP_SECRET']).META_APP_SECRET?.reveal();
  const token = values.token ?? (await issueToken(url, flowId, values.phone ?? '+14155550100'));

  const out = (line: string): void => io.out(line);
  let reader: LineReader | undefined;
  let driver: Driver;
  if (script) {
    driver = new ScriptDriver(script, values.script as string);
  } else {
    reader = new LineReader(process.stdin, (text) => process.stdout.write(text));
    driver = new InteractiveDriver(reader, out);
  }
  const version = dataApiVersion ?? flow.model.dataApiVersion ?? '3.0';
  io.out(`simulating ${flowId} against ${endpoint}${appSecret ? ' (signed)' : ''}, data API ${version}`);
  // Picker files ({"$files": [...]}, paths relative to the script) are served by a local CDN stand-in.
  const pickerFiles = new PickerFiles(values.script ? dirname(resolve(values.script)) : process.cwd());
  try {
    const result = await new Simulator({
      flow,
      url: endpoint,
      publicKey,
      appSecret,
      token,
      driver,
      out,
      ping: values['skip-ping'] !== true,
      onDeviceComplete: webhookDelivery(values.webhook, url, appSecret, token, values.phone, out),
      dataApiVersion: version,
      pickerFiles,
    }).run();
    const problems = result.mismatches.map(formatMismatch);
    if (script && !result.completed && !script.allowIncomplete && problems.length === 0) {
      problems.push(`✗ the script ended after ${script.steps.length} step(s) but the flow did not complete`);
    }
    if (driver instanceof ScriptDriver && driver.remaining > 0 && result.completed) {
      problems.push(`✗ the flow completed with ${driver.remaining} step(s) of the script left`);
    }
    if (problems.length > 0) {
      problems.forEach((p) => io.err(p));
      io.err(`FAILED: ${problems.length} problem(s) in ${result.requests} request(s)`);
      return 1;
    }
    io.out(
      `OK: ${result.completed ? 'completed' : 'stopped'} after ${result.requests} request(s), every reply matched the Flow JSON`,
    );
    return 0;
  } finally {
    reader?.close();
    await pickerFiles.close();
  }
}

/** `--webhook URL`: completes on the device go to the service's webhook as WhatsApp sends them. */
function webhookDelivery(
  flag: string | undefined,
  base: URL,
  appSecret: string | undefined,
  token: string,
  phone: string | undefined,
  out: (line: string) => void,
): ((payload: Record<string, unknown>) => Promise<string>) | undefined {
  if (flag === undefined) return undefined;
  let target: string;
  try {
    target = new URL(flag, base).href;
  } catch {
    throw new UsageError(`--webhook "${flag}" is not a URL`);
  }
  const from = (phone ?? '+14155550100').replace(/[^0-9]/g, '');
  return (payload) => deliverCompletion({ url: target, appSecret, token, from, out }, payload);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new CommandError(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function loadPublicKey(file: string): KeyObject {
  const pem = readText(file, 'public key');
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new CommandError(`${file}: is not a PEM public key`);
  }
}

/** Issues a token through the running service's token API, as the business's messaging system would. */
async function issueToken(base: URL, flowId: string, phone: string): Promise<string> {
  // Set, or from keys/dev-secrets.json where `npm start` generated it (read, never created here).
  const key = loadVariables(['TOKEN_API_KEY']).TOKEN_API_KEY?.reveal();
  if (!key) {
    throw new CommandError(
      'no flow token: pass --token, or set TOKEN_API_KEY (npm start writes one to keys/dev-secrets.json in development)',
    );
  }
  const url = new URL('/api/tokens', base);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flow_id: flowId, phone }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new CommandError(`cannot reach ${url.origin} (${cause ?? (err as Error).message}); is the service running?`);
  }
  const text = await res.text();
  let json: { flow_token?: unknown; error?: unknown } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // reported below
  }
  if (res.status !== 201 || typeof json.flow_token !== 'string') {
    throw new CommandError(
      `the token API at ${url.href} answered ${res.status}${json.error ? `: ${String(json.error)}` : ''}; pass --token instead`,
    );
  }
  return json.flow_token;
}

if (require.main === module) exitWith(runCommand(USAGE, simulateCommand));
