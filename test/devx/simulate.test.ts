import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptEnvelope, encryptResponse, loadPrivateKeyFile } from '../../src/crypto';
import { makeTestKeys, type TestKeys } from '../helpers/env';
import { runCli, PROJECT_ROOT } from '../helpers/cli';
import { startTestService, type TestService } from '../helpers/test-service';

const WALK = join(PROJECT_ROOT, 'src/flows/book-appointment/walk.steps.json');

let t: TestService;
let dir: string;
let publicKeyFile: string;
let secretFile: string;
beforeAll(async () => {
  t = await startTestService();
  dir = mkdtempSync(join(tmpdir(), 'flowgate-sim-'));
  publicKeyFile = join(t.keys.dir, 'public.pem');
  secretFile = join(dir, 'app-secret');
  writeFileSync(secretFile, `${t.env.META_APP_SECRET}\n`);
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const simulate = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
  runCli('simulate', ['book-appointment', '--url', t.baseUrl, '--public-key', publicKeyFile, ...args], options);

function firstWeekdayAfterTomorrow(): string {
  let d = new Date(Date.now() + 86_400_000);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d = new Date(d.getTime() + 86_400_000);
  return d.toISOString().slice(0, 10);
}

describe('when the simulator walks the example flow against the real service', () => {
  it('then the shipped walk script passes, signed, with a token from the token service', async () => {
    const token = await t.issueToken('+14155550111');
    const run = await simulate(['--script', WALK, '--app-secret-file', secretFile, '--token', token]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(signed)');
    expect(run.stdout).toContain('✓ ping answered {"data":{"status":"active"}}');
    expect(run.stdout).toMatch(/┌─ DETAILS — Your details\n│ ! Please check the highlighted fields\./);
    expect(run.stdout).toContain('⚠ Use a permanent address');
    expect(run.stdout).toContain('← BACK from DETAILS (refresh_on_back)');
    expect(run.stdout).toMatch(/OK: completed after 8 request\(s\)/);
    expect(run.stdout).not.toContain(token);
  });

  it('then without --token it issues one through the token API with TOKEN_API_KEY', async () => {
    const run = await simulate(['--script', WALK], {
      env: { TOKEN_API_KEY: String(t.env.TOKEN_API_KEY), META_APP_SECRET: String(t.env.META_APP_SECRET) },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/OK: completed/);
  });

  it('then a person can walk it interactively through stdin', async () => {
    const token = await t.issueToken('+14155550112');
    const answers = ['2', '1', firstWeekdayAfterTomorrow(), '1', '', 'Bo Li', 'bo@example.com', '', '', '', 'y', ''];
    const run = await simulate(['--app-secret-file', secretFile, '--token', token], {
      input: `${answers.join('\n')}\n`,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Department * (1-4):');
    expect(run.stdout).toContain('│ Bo Li, bo@example.com');
    expect(run.stdout).toMatch(/✓ completed; params \{"booking_ref":"[0-9A-F]{8}"/);
  });

  it('then interactive input that ends early fails with a clear message', async () => {
    const token = await t.issueToken('+14155550113');
    const run = await simulate(['--app-secret-file', secretFile, '--token', token], { input: '2\n' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/input ended before the flow did/);
  });

  it('then a script whose expectation does not hold fails naming step, screen and field', async () => {
    const script = JSON.parse(readFileSync(WALK, 'utf8'));
    script.steps[1].expect.data = { slot_summary: 'Dermatology somewhere' };
    const file = join(dir, 'wrong-expectation.json');
    writeFileSync(file, JSON.stringify(script));
    const run = await simulate(['--script', file, '--app-secret-file', secretFile, '--token', await t.issueToken()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /✗ step 2 on APPOINTMENT, "Continue": screen DETAILS, field data\.slot_summary: expected value/,
    );
  });

  it('then a script step written for another screen is reported', async () => {
    const file = join(dir, 'wrong-screen.json');
    writeFileSync(file, JSON.stringify({ steps: [{ screen: 'SUMMARY', inputs: { consent: true } }] }));
    const run = await simulate(['--script', file, '--app-secret-file', secretFile, '--token', await t.issueToken()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/steps\[0\] is written for screen SUMMARY, but the flow is on APPOINTMENT/);
  });

  it('then a public key that is not the service key gets 421 and a hint', async () => {
    const other = makeTestKeys();
    try {
      const run = runCli('simulate', [
        'book-appointment',
        '--url',
        t.baseUrl,
        '--public-key',
        join(other.dir, 'public.pem'),
        '--app-secret-file',
        secretFile,
        '--token',
        await t.issueToken('+14155550116'),
        '--script',
        WALK,
      ]);
      const result = await run;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /ping \(health check\): HTTP 421 \(the service cannot decrypt: --public-key does not match/,
      );
    } finally {
      other.cleanup();
    }
  });

  it('then a wrong app secret gets 432 and a hint', async () => {
    const wrong = join(dir, 'wrong-secret');
    writeFileSync(wrong, 'not-the-secret');
    const run = await simulate(['--script', WALK, '--app-secret-file', wrong, '--token', await t.issueToken()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/HTTP 432 \(signature mismatch/);
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe('when a person uses the simulator in a real terminal (tmux)', () => {
  (hasTmux ? it : it.skip)('then prompts, on-select refreshes and completion work on a TTY', async () => {
    const socket = `flowgate-test-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const token = await t.issueToken('+14155550117');
    const command = [
      `cd ${JSON.stringify(PROJECT_ROOT)} &&`,
      `${JSON.stringify(process.execPath)} dist/src/cli/simulate.js book-appointment`,
      `--url ${t.baseUrl} --public-key ${JSON.stringify(publicKeyFile)}`,
      `--app-secret-file ${JSON.stringify(secretFile)} --token ${token};`,
      'echo EXIT=$?; sleep 60',
    ].join(' ');
    tmux('new-session', '-d', '-s', 'sim', '-x', '180', '-y', '50', command);
    const screen = (): string => tmux('capture-pane', '-p', '-J', '-S', '-400', '-t', 'sim');
    const lastLine = (): string =>
      screen()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .pop() ?? '';
    const answer = async (prompt: string, keys: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!lastLine().includes(prompt)) {
        if (Date.now() > deadline) throw new Error(`no prompt "${prompt}"; the terminal shows:\n${screen()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (keys) tmux('send-keys', '-t', 'sim', '-l', keys);
      tmux('send-keys', '-t', 'sim', 'Enter');
    };
    try {
      await answer('Department * (1-4):', '3');
      await answer('Location * (1-2):', '2');
      await answer('Date * (YYYY-MM-DD):', firstWeekdayAfterTomorrow());
      await answer('Time * (1-', '1');
      await answer('Press (Enter = 1):', '');
      await answer('Full name *:', 'Cy Twombly');
      await answer('Email *:', 'cy@example.com');
      await answer('Phone (optional):', '');
      await answer('Symptoms or notes:', '');
      await answer('Press (Enter = 1):', '');
      await answer('(y/n):', 'y');
      // SUMMARY has a link (open_url, 1) before its Footer (2): Enter presses the Footer.
      await answer('Press (Enter = 2):', '');
      await answer('EXIT=', '');
      const shown = screen();
      expect(shown).toContain('EXIT=0');
      expect(shown).toContain('│ Dermatology, North clinic, ');
      expect(shown).toMatch(/OK: completed after 5 request\(s\)/);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});

type Reply = (request: Record<string, unknown>) => { status: number; body?: string; json?: unknown };

/** An endpoint that decrypts like the real one but answers whatever the test says. */
async function fakeEndpoint(
  keys: TestKeys,
  reply: Reply,
  pingToo = false,
): Promise<{ url: string; close(): Promise<void> }> {
  const key = loadPrivateKeyFile(keys.privateKeyFile, undefined);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const envelope = decryptEnvelope(JSON.parse(Buffer.concat(chunks).toString('utf8')), [key]);
      const request = JSON.parse(envelope.plaintext.toString('utf8')) as Record<string, unknown>;
      const answer =
        request.action === 'ping' && !pingToo ? { status: 200, json: { data: { status: 'active' } } } : reply(request);
      const body =
        answer.json !== undefined
          ? encryptResponse(JSON.stringify(answer.json), envelope.aesKey, envelope.iv)
          : answer.body;
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('when the remote endpoint misbehaves', () => {
  let keys: TestKeys;
  beforeAll(() => {
    keys = makeTestKeys();
  });
  afterAll(() => keys.cleanup());

  const appointmentData = {
    department: [{ id: 'general', title: 'General' }],
    location: [{ id: 'central', title: 'Central' }],
    min_date: '2026-01-05',
    max_date: '2026-02-05',
    time: [{ id: 'none', title: 'Pick a date first' }],
    is_time_enabled: false,
  };

  async function simulateAgainst(reply: Reply, pingToo = false) {
    const fake = await fakeEndpoint(keys, reply, pingToo);
    try {
      return await runCli('simulate', [
        'book-appointment',
        '--url',
        fake.url,
        '--public-key',
        join(keys.dir, 'public.pem'),
        '--token',
        'test-token',
        '--script',
        WALK,
      ]);
    } finally {
      await fake.close();
    }
  }

  it.each([
    [
      'garbage text',
      () => ({ status: 200, body: 'hello there, not encrypted' }),
      /INIT: the reply body is not standard base64/,
    ],
    ['HTTP 500', () => ({ status: 500, body: 'Internal Server Error' }), /INIT: HTTP 500 .*"Internal Server Error"/],
    ['a JSON-wrapped body', () => ({ status: 200, body: '{"data":"x"}' }), /JSON or quoted, not bare base64/],
    [
      'base64 that is not ours',
      () => ({ status: 200, body: Buffer.alloc(40, 7).toString('base64') }),
      /does not decrypt/,
    ],
    ['an empty body', () => ({ status: 200, body: '' }), /reply body is empty/],
  ])('then %s exits 1 with a clear message', async (_name, reply, message) => {
    const run = await simulateAgainst(reply);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });

  it('then a reply that breaks the routing model names the screen and the rule', async () => {
    const run = await simulateAgainst(() => ({
      status: 200,
      json: { screen: 'SUMMARY', data: { appointment: 'a', contact: 'c' } },
    }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /✗ INIT: screen SUMMARY: routing_model: INIT from \(start\) may not show SUMMARY \(allowed: entry screen APPOINTMENT\)/,
    );
  });

  it('then reply data that breaks the screen declaration names screen, field and rule', async () => {
    const run = await simulateAgainst(() => ({
      status: 200,
      json: { screen: 'APPOINTMENT', data: { ...appointmentData, is_time_enabled: 'no', min_date: undefined } },
    }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/✗ INIT: screen APPOINTMENT, field \/min_date: required \(#\/required\)/);
    expect(run.stderr).toMatch(
      /✗ INIT: screen APPOINTMENT, field \/is_time_enabled: type \(#\/properties\/is_time_enabled\/type\): must be boolean/,
    );
  });

  it('then a health check answered wrongly fails before INIT', async () => {
    const run = await simulateAgainst(() => ({ status: 200, json: { data: { status: 'ok' } } }), true);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/✗ ping \(health check\): health check: expected \{"data":\{"status":"active"\}\}/);
    expect(run.stdout).not.toContain('┌─');
  });

  it('then a screen that is not in the Flow JSON is refused', async () => {
    const run = await simulateAgainst(() => ({ status: 200, json: { screen: 'NOWHERE', data: {} } }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the reply shows screen "NOWHERE", which is not in the Flow JSON/);
  });

  it('then a 427 shows the decrypted error_msg', async () => {
    const run = await simulateAgainst(() => ({ status: 427, json: { error_msg: 'Already booked' } }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/HTTP 427: the flow token is no longer valid.*Already booked/);
  });

  it('then an endpoint that is down is named', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const free = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(free));
      });
    });
    const run = await runCli('simulate', [
      'book-appointment',
      '--url',
      `http://127.0.0.1:${port}`,
      '--public-key',
      join(keys.dir, 'public.pem'),
      '--token',
      't',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach http://127.0.0.1:${port}/flows/book-appointment (ECONNREFUSED)`);
  });
});
