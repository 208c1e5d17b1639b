import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { encryptResponse } from '../../src/crypto';
import { evaluateCondition } from '../../src/devtools/simulator/screen-view';
import { encryptedBodyBytes, withVersion } from '../../src/endpoint/data-api';
import { FlowTokenSignatureVerifier } from '../../src/tokens';
import { makeTestKeys, productionEnv, testEnv, type TestKeys } from '../helpers/env';
import { signFlowToken } from '../helpers/whatsapp-client';

/** The pure pieces of Data API 4.0 support (issue 14); the HTTP behaviour is in test/component/data-api-4. */

describe('when FLOW_TOKEN_SIGNATURE is configured', () => {
  let keys: TestKeys;
  let dir: string;
  beforeAll(() => {
    keys = makeTestKeys();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-dapi-'));
  });
  afterAll(() => {
    keys.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const load = (overrides: Record<string, string | undefined>) =>
    loadConfig(testEnv(keys, overrides), { cwd: dir, devSecretsDir: dir });

  it('then outside production the default verifies a signature only when present', () => {
    expect(load({}).flowTokenSignature).toBe('verify');
  });

  it('then production requires it by default', () => {
    const submission = `k1:${randomBytes(32).toString('base64')}`;
    const env = productionEnv(keys, { FLOWS_PRIVATE_KEY_FILE: keys.privateKeyFile, SUBMISSION_KEYS: submission });
    expect(loadConfig(env, { cwd: dir, devSecretsDir: dir }).flowTokenSignature).toBe('required');
  });

  it('then "required" without an app secret to verify with stops the start, naming the variable', () => {
    let error: unknown;
    try {
      load({ FLOW_TOKEN_SIGNATURE: 'required', META_APP_SECRET: undefined });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('FLOW_TOKEN_SIGNATURE');
  });

  it('then a value other than required or verify is refused', () => {
    expect(() => load({ FLOW_TOKEN_SIGNATURE: 'off' })).toThrow(/must be one of required, verify/);
  });
});

describe('when a flow_token_signature is verified', () => {
  const current = randomBytes(32).toString('hex');
  const previous = randomBytes(32).toString('hex');
  const verifier = new FlowTokenSignatureVerifier([current, previous]);

  it.each([
    ['signed with the current secret', signFlowToken('tok', current), undefined],
    ['signed with a previous secret', signFlowToken('tok', previous), undefined],
    ['signed with an unknown secret', signFlowToken('tok', 'other'), 'signature_invalid'],
    ['binding another token', signFlowToken('other-token', current), 'signature_mismatch'],
    [
      'with a numeric flow_token claim',
      signFlowToken('tok', current, { claims: { flow_token: 1 } }),
      'signature_mismatch',
    ],
    ['with alg none', signFlowToken('tok', current, { alg: 'none' }), 'signature_malformed'],
    ['with alg "hs256" (case matters)', signFlowToken('tok', current, { alg: 'hs256' }), 'signature_algorithm'],
    ['with a crit header', signFlowToken('tok', current, { header: { crit: ['x'], x: 1 } }), 'signature_malformed'],
    [
      'not yet valid (nbf an hour ahead)',
      signFlowToken('tok', current, { claims: { flow_token: 'tok', nbf: Math.floor(Date.now() / 1000) + 3600 } }),
      'signature_invalid',
    ],
    ['far too long', `${'a'.repeat(9000)}.b.c`, 'signature_malformed'],
  ])('%s, then the answer is %s', async (_what, signature, expected) => {
    expect(await verifier.check(signature, 'tok')).toBe(expected);
  });

  it('then any single-character change to a valid signature is refused (property)', async () => {
    const genuine = signFlowToken('tok', current);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await fc.assert(
      fc.asyncProperty(
        // Not the last character: its low bits are base64 padding and may not change the bytes.
        fc.integer({ min: 0, max: genuine.length - 2 }),
        fc.constantFrom(...alphabet.split('')),
        async (position, replacement) => {
          fc.pre(genuine[position] !== replacement);
          const forged = `${genuine.slice(0, position)}${replacement}${genuine.slice(position + 1)}`;
          expect(await verifier.check(forged, 'tok')).not.toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
    expect(await verifier.check(genuine, 'tok')).toBeUndefined();
  });

  it('then a request without a flow token never matches a signature', async () => {
    expect(await verifier.check(signFlowToken('tok', current), undefined)).toBe('signature_mismatch');
  });
});

describe('when a response is measured against the 1 MB data channel', () => {
  it.each([0, 1, 2, 3, 100, 4097, 65_537])('then the computed size of %i bytes equals the encrypted body', (n) => {
    const json = 'x'.repeat(n);
    const body = encryptResponse(json, randomBytes(16), randomBytes(16));
    expect(encryptedBodyBytes(n)).toBe(Buffer.byteLength(body));
  });

  it("then the request's version is echoed first, and only in objects", () => {
    expect(JSON.stringify(withVersion({ data: { status: 'active' } }, '4.0'))).toBe(
      '{"version":"4.0","data":{"status":"active"}}',
    );
    expect(withVersion({ data: {} }, undefined)).toEqual({ data: {} });
  });
});

describe('when the simulator reads an If condition', () => {
  const scope = { data: { show: true, n: 3, name: 'pro' }, form: { plan: 'basic', empty: '' }, screens: {} };
  it.each([
    ['${data.show}', true],
    ['!${data.show}', false],
    ["${form.plan} == 'basic'", true],
    ["${form.plan} != 'basic'", false],
    ['${data.n} > 2 && ${data.show}', true],
    ["(${form.empty} || ${data.name} == 'pro')", true],
    ['${data.n} <= 2', false],
    ['${form.missing}', false],
  ])('then %s is %s', (condition, expected) => {
    expect(evaluateCondition(condition, scope)).toBe(expected);
  });

  it('then an expression it cannot read is undefined (both branches are shown)', () => {
    expect(evaluateCondition('${data.n} ~= 2', scope)).toBeUndefined();
    expect(evaluateCondition('length(${data.name})', scope)).toBeUndefined();
  });
});
