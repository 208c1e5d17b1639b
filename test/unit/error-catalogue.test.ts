import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import type { AuditLog } from '../../src/audit';
import { buildApp } from '../../src/app';
import { CommandError, runCommand, UsageError, type Io } from '../../src/cli/cli';
import { InvalidActorError, SubmissionNotFoundError, UndecryptableError } from '../../src/compliance';
import { ConfigError } from '../../src/config';
import { UserError, WeakPasswordError } from '../../src/console';
import { AtRestDecryptError, EnvelopeDecryptError, PrivateKeyError } from '../../src/crypto';
import { DevtoolError } from '../../src/devtools/errors';
import {
  ERROR_CATALOGUE,
  errorCodeOf,
  exitCodeOf,
  FlowgateError,
  httpStatusOf,
  operatorMessage,
  type ErrorCode,
} from '../../src/errors';
import type { Dispatcher } from '../../src/endpoint';
import { ResponseTooLargeError } from '../../src/endpoint/data-api';
import { RegistrationError } from '../../src/endpoint/registry';
import { HandlerFailedError } from '../../src/endpoint/screen-runner';
import { TokenQueueWaitError } from '../../src/endpoint/token-queue';
import { createLogger } from '../../src/logging';
import { MediaError } from '../../src/media';
import {
  HandlerContractError,
  MalformedRequestError,
  ServiceUnavailableError,
  UnsafeJsonError,
} from '../../src/protocol';
import { DatabaseInUseError } from '../../src/storage';
import { TlsFilesError } from '../../src/tls';
import { InvalidPhoneNumberError, type TokenService } from '../../src/tokens';
import { InvalidTtlError, UnknownFlowIdError } from '../../src/tokens/token-service';
import { SchemaCompileError } from '../../src/validation';

/**
 * The error catalogue (src/errors/catalogue.ts) and the three places that read it: the HTTP
 * status of an error, a command's exit code and stderr line, and what may be shown of a message.
 */

/** A value that must never be shown: it stands for a phone number or submitted text in a message. */
const CANARY = 'CANARY-+14155550199-jane@example.org';

describe('when the catalogue is read', () => {
  // Written out so that a changed status or exit code is a deliberate edit here, not a side effect.
  const expected: Record<ErrorCode, [status: number | undefined, exitCode: 1 | 2, expose: boolean]> = {
    malformed_request: [400, 1, false],
    out_of_sequence: [400, 1, false],
    unknown_flow: [404, 1, false],
    payload_too_large: [413, 1, false],
    unsupported_media_type: [415, 1, false],
    cannot_decrypt: [421, 1, false],
    flow_token_invalid: [427, 1, false],
    rate_limited: [429, 1, false],
    signature_mismatch: [432, 1, false],
    service_unavailable: [503, 1, false],
    handler_failed: [500, 1, false],
    handler_timeout: [500, 1, false],
    response_too_large: [500, 1, false],
    internal_error: [500, 1, false],
    invalid_phone_number: [400, 2, true],
    unknown_flow_id: [400, 1, true],
    invalid_ttl: [400, 1, true],
    usage: [undefined, 2, true],
    command_failed: [undefined, 1, true],
    devtool_failed: [undefined, 1, true],
    config_invalid: [undefined, 1, true],
    private_key_unusable: [undefined, 1, true],
    tls_files_unusable: [undefined, 1, true],
    flow_registration_failed: [undefined, 1, true],
    schema_invalid: [undefined, 1, true],
    database_in_use: [undefined, 1, true],
    invalid_actor: [undefined, 2, true],
    submission_not_found: [undefined, 1, true],
    undecryptable: [undefined, 1, true],
    at_rest_decrypt_failed: [undefined, 1, true],
    audit_write_timeout: [undefined, 1, true],
    console_user_invalid: [undefined, 1, true],
    weak_password: [undefined, 1, true],
    hook_timeout: [undefined, 1, true],
    envelope_decrypt_failed: [undefined, 1, false],
    unsafe_json: [undefined, 1, false],
    handler_contract: [undefined, 1, false],
    token_queue_wait: [undefined, 1, false],
    session_changed: [undefined, 1, false],
    media_invalid: [undefined, 1, false],
    media_not_in_request: [undefined, 1, false],
    media_limit: [undefined, 1, false],
    media_host_not_allowed: [undefined, 1, false],
    media_redirect_refused: [undefined, 1, false],
    media_download_failed: [undefined, 1, false],
    media_timeout: [undefined, 1, false],
    media_too_large: [undefined, 1, false],
    media_hash_mismatch: [undefined, 1, false],
    media_hmac_mismatch: [undefined, 1, false],
    media_decrypt_failed: [undefined, 1, false],
    media_plaintext_mismatch: [undefined, 1, false],
    media_type_not_allowed: [undefined, 1, false],
    media_unavailable: [undefined, 1, false],
  };

  it.each(Object.entries(expected))(
    'then %s has its status, exit code and exposure',
    (code, [status, exit, expose]) => {
      const entry = ERROR_CATALOGUE[code as ErrorCode];
      expect([entry.status, entry.exitCode, entry.expose]).toEqual([status, exit, expose]);
      expect(entry.meaning).toMatch(/^\S.{10,}\S$/);
    },
  );

  it('then it holds no code this test does not know', () => {
    expect(Object.keys(ERROR_CATALOGUE).sort()).toEqual(Object.keys(expected).sort());
  });
});

describe('when a typed error is raised', () => {
  const instances: FlowgateError[] = [
    new MalformedRequestError('x'),
    new ServiceUnavailableError('x'),
    new UnsafeJsonError('x'),
    new HandlerContractError('x'),
    new HandlerFailedError('x', 'handler_timeout'),
    new ResponseTooLargeError(2_000_000),
    new TokenQueueWaitError(5000),
    new RegistrationError(['x']),
    new InvalidPhoneNumberError(),
    new UnknownFlowIdError('x'),
    new InvalidTtlError(),
    new UsageError('x'),
    new CommandError('x'),
    new DevtoolError('x'),
    new ConfigError('PORT', 'x'),
    new PrivateKeyError('key.pem', 'x'),
    new TlsFilesError('x'),
    new SchemaCompileError('s', new Error('x')),
    new DatabaseInUseError('.data/x', 1),
    new InvalidActorError('x'),
    new SubmissionNotFoundError('x'),
    new UndecryptableError('row', 'k1', new AtRestDecryptError('x')),
    new AtRestDecryptError('x'),
    new EnvelopeDecryptError('gcm_failed'),
    new UserError('x'),
    new WeakPasswordError('x'),
    new MediaError('media_timeout', 'x'),
  ];

  it.each(instances.map((e) => [e.name, e] as const))(
    'then %s is a FlowgateError whose status and exit code are its catalogue row',
    (name, error) => {
      expect(error).toBeInstanceOf(FlowgateError);
      expect(error.name).toBe(name);
      const entry = ERROR_CATALOGUE[error.code];
      expect(httpStatusOf(error)).toBe(entry.status ?? 500);
      expect(exitCodeOf(error)).toBe(entry.exitCode);
      expect(errorCodeOf(error)).toBe(error.code);
    },
  );

  it('then anything else is a 500, exit code 1, code internal_error', () => {
    for (const thrown of [new Error(CANARY), new TypeError('x'), 'a string', undefined, null]) {
      expect(httpStatusOf(thrown)).toBe(500);
      expect(exitCodeOf(thrown)).toBe(1);
      expect(errorCodeOf(thrown)).toBe('internal_error');
    }
  });

  it('then no class under src/ extends Error directly, except those outside the catalogue on purpose', () => {
    // The Redis store's error never leaves the rate limiter (it fails open); the flow-types generator runs before the
    // build and imports nothing outside its folder (src/flow-types/cli.ts).
    const allowed = new Set([
      'src/errors/flowgate-error.ts',
      'src/ratelimit/redis-store.ts',
      'src/flow-types/files.ts',
    ]);
    const root = join(__dirname, '..', '..');
    const offenders = sourceFiles(join(root, 'src'))
      .map((file) => relative(root, file))
      .filter((file) => !allowed.has(file))
      .filter((file) => /\bextends (Error|TypeError|RangeError)\b/.test(readFileSync(join(root, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

describe('when a message is not to be shown', () => {
  it('then the public message is the meaning and the code, never the message', () => {
    const hidden = new MalformedRequestError(CANARY);
    expect(hidden.publicMessage).toBe(`${ERROR_CATALOGUE.malformed_request.meaning} (malformed_request)`);
    expect(new SubmissionNotFoundError('3f2b').publicMessage).toBe('no submission with id 3f2b');
  });

  describe('and a command stops on it', () => {
    const run = async (thrown: unknown, debug = false) => {
      const lines: string[] = [];
      const io: Io = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
      const argv = process.argv;
      const saved = process.env.FLOWGATE_DEBUG;
      process.argv = ['node', 'cmd'];
      process.env.FLOWGATE_DEBUG = debug ? '1' : '';
      try {
        const code = await runCommand(
          'Usage: npm run cmd',
          () => Promise.reject(thrown instanceof Error ? thrown : new Error(String(thrown))),
          io,
        );
        return { code, stderr: lines.join('\n') };
      } finally {
        process.argv = argv;
        if (saved === undefined) delete process.env.FLOWGATE_DEBUG;
        else process.env.FLOWGATE_DEBUG = saved;
      }
    };

    it('then stderr shows the code and meaning, not the message, and the exit code is the catalogue row', async () => {
      const r = await run(new MediaError('media_timeout', CANARY));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: ${ERROR_CATALOGUE.media_timeout.meaning} (media_timeout)`);
    });

    it('then an unexpected error shows its class and code, even with FLOWGATE_DEBUG', async () => {
      const err = Object.assign(new Error(`duplicate key value (${CANARY})`), { code: '23505' });
      const plain = await run(err);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toBe('error: unexpected Error (23505); set FLOWGATE_DEBUG=1 to see where it was thrown');
      const debug = await run(err, true);
      expect(debug.stderr).toMatch(/^error: unexpected Error \(23505\)\n {4}at /);
      expect(debug.stderr).not.toContain('CANARY');
      expect(debug.stderr).not.toContain('duplicate key');
    });

    it('then an exposed error shows its message with its exit code, and a usage mistake the usage', async () => {
      expect(await run(new SubmissionNotFoundError('3f2b'))).toEqual({
        code: 1,
        stderr: 'error: no submission with id 3f2b',
      });
      expect(await run(new InvalidActorError('--reason must not look like an e-mail address'))).toEqual({
        code: 2,
        stderr: 'error: --reason must not look like an e-mail address\n\nUsage: npm run cmd',
      });
    });
  });

  it('then the start-up line of the service follows the same rule', () => {
    expect(operatorMessage(new ConfigError('PORT', 'must be a whole number'))).toBe('PORT: must be a whole number');
    expect(operatorMessage(new Error(CANARY), false)).not.toContain('CANARY');
    expect(operatorMessage(Object.assign(new Error(CANARY), { code: 'EADDRINUSE' }), false)).toMatch(
      /^unexpected Error \(EADDRINUSE\)/,
    );
  });

  describe('and an HTTP route meets it', () => {
    const logLines: string[] = [];
    let thrown: unknown;
    let baseUrl = '';
    let close = (): void => undefined;

    beforeAll(async () => {
      const tokens = {
        issue: () => Promise.reject(thrown instanceof Error ? thrown : new Error('not an error')),
      } as unknown as TokenService;
      const app = buildApp({
        dispatcher: {} as Dispatcher,
        knex: {} as never,
        logger: createLogger({ level: 'debug', format: 'json', sink: (line) => logLines.push(line) }),
        audit: { append: () => Promise.resolve() } as unknown as AuditLog,
        tokens,
        bodyLimitBytes: 1024,
        tokenApiKey: 'k'.repeat(32),
        trustProxy: false,
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = () => void server.close();
    });
    afterAll(() => close());

    const issue = async (error: unknown) => {
      thrown = error;
      const res = await fetch(`${baseUrl}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${'k'.repeat(32)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flow_id: 'book-appointment', phone: '+14155550100' }),
      });
      return { status: res.status, body: await res.text() };
    };

    it('then a typed error with a status is answered with it, its message only when exposed', async () => {
      expect(await issue(new InvalidTtlError())).toEqual({
        status: 400,
        body: JSON.stringify({ error: new InvalidTtlError().message }),
      });
      const hidden = await issue(new MalformedRequestError(CANARY));
      expect(hidden.status).toBe(400);
      expect(JSON.parse(hidden.body)).toEqual({
        error: `${ERROR_CATALOGUE.malformed_request.meaning} (malformed_request)`,
      });
    });

    it('then an unknown error, or one of 5xx, is answered with a generic body and logged without its message', async () => {
      logLines.length = 0;
      const unknown = await issue(new Error(CANARY));
      expect(unknown.status).toBe(500);
      expect(JSON.parse(unknown.body)).toEqual({ error: 'internal error', request_id: expect.any(String) as string });
      const unavailable = await issue(new ServiceUnavailableError(CANARY));
      expect(unavailable.status).toBe(503);
      expect(unavailable.body).not.toContain('CANARY');
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.join('\n')).not.toContain('CANARY');
    });
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
