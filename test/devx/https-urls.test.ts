import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { defineFlow } from '../../src/flow-api';
import { RegistrationError } from '../../src/endpoint';
import bookAppointment from '../../src/flows/book-appointment';
import { createLogger } from '../../src/logging';
import { createService } from '../../src/service';
import { runCli, PROJECT_ROOT } from '../helpers/cli';
import { makeTestKeys, testEnv } from '../helpers/env';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-https-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown> & { screens: { id: string; layout: { children: Record<string, unknown>[] } }[] };

/** The example flow with links: on SUMMARY an EmbeddedLink and the OptIn's "read more" action. */
function flowWithLinks(link: string, optInLink: string, extra: Record<string, unknown> = {}): Json {
  const json = JSON.parse(readFileSync(join(PROJECT_ROOT, 'src/flows/book-appointment/flow.json'), 'utf8')) as Json;
  const summary = json.screens.find((s) => s.id === 'SUMMARY');
  if (!summary) throw new Error('no SUMMARY screen');
  const children = summary.layout.children;
  children.splice(1, 0, {
    type: 'EmbeddedLink',
    text: 'Our terms',
    'on-click-action': { name: 'open_url', url: link },
  });
  const optIn = children.find((c) => c.type === 'OptIn');
  if (!optIn) throw new Error('no OptIn on SUMMARY');
  optIn['on-click-action'] = { name: 'open_url', url: optInLink };
  return { ...json, ...extra };
}

function write(name: string, json: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('when a Flow JSON opens a non-https URL and npm run check runs', () => {
  const file = (): string =>
    write(
      'http-links.json',
      flowWithLinks('http://clinic.example/terms', 'javascript:alert(1)', {
        endpoint_uri: 'http://clinic.example/flows/book-appointment',
      }),
    );

  it('then outside production each URL is a warning naming its path, and the check passes', async () => {
    const f = file();
    const run = await runCli('check', ['--file', f]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `warning: ${f} /screens/2/layout/children/1/on-click-action/url, screen SUMMARY: open_url target must be an https:// URL (scheme http: is not https); an error in production`,
    );
    expect(run.stdout).toMatch(
      /\/screens\/2\/layout\/children\/\d\/on-click-action\/url, screen SUMMARY: open_url target must be an https:\/\/ URL \(scheme javascript: is not https\)/,
    );
    expect(run.stdout).toContain(
      `${f} /endpoint_uri: endpoint_uri must be an https:// URL (scheme http: is not https)`,
    );
    expect(run.stdout).toMatch(/0 errors, 3 warnings/);
  });

  it('then with --production, or NODE_ENV=production, they are errors and the check fails', async () => {
    const f = file();
    for (const run of [
      await runCli('check', ['--file', f, '--production']),
      await runCli('check', ['--file', f], { env: { NODE_ENV: 'production' } }),
    ]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/error: .* open_url target must be an https:\/\/ URL \(scheme http: is not https\)\n/);
      expect(run.stderr).toMatch(/3 errors, 0 warnings/);
    }
  });

  it('then https links, bound URLs and data_channel_uri over https pass even in production', async () => {
    const f = write(
      'https-links.json',
      flowWithLinks('https://clinic.example/terms', '${data.policy_url}', {
        data_channel_uri: 'https://clinic.example/flows/book-appointment',
      }),
    );
    const run = await runCli('check', ['--file', f, '--production']);
    expect(run.stdout + run.stderr).not.toMatch(/https:\/\/ URL/);
    expect(run.stdout + run.stderr).not.toMatch(/not https/);
  });

  it('then a relative or scheme-less target is refused too', async () => {
    const f = write('relative.json', flowWithLinks('//clinic.example/terms', 'https://clinic.example/ok'));
    const run = await runCli('check', ['--file', f, '--production']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"//clinic.example/terms" is not an absolute URL');
  });
});

describe('when a registered flow opens an http link and the service boots', () => {
  const flow = defineFlow({
    ...bookAppointment,
    flowJson: flowWithLinks('http://clinic.example/terms', 'https://clinic.example/privacy'),
  });

  it('then outside production it starts and logs a warning; a production build refuses to start', async () => {
    const keys = makeTestKeys();
    try {
      const config = loadConfig(testEnv(keys), { devSecretsDir: keys.dir });
      const logs: string[] = [];
      const logger = createLogger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
      const service = await createService(config, { logger, flows: [flow] });
      await service.close();
      expect(logs.join('\n')).toMatch(
        /flow book-appointment: open_url target must be an https:\/\/ URL \(scheme http: is not https\)/,
      );
      if (config.database.url) await dropSchema(config);

      const production = { ...config, nodeEnv: 'production' as const };
      const refused = await createService(production, { logger, flows: [flow] }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(RegistrationError);
      expect((refused as Error).message).toMatch(
        /flow "book-appointment", screen SUMMARY: open_url target must be an https:\/\/ URL \(scheme http: is not https\) \(flow.json \/screens\/2\/layout\/children\/1\/on-click-action\/url\)/,
      );
    } finally {
      keys.cleanup();
    }
  });
});

async function dropSchema(config: ReturnType<typeof loadConfig>): Promise<void> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: config.database.url?.reveal() });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
  await client.end();
}
