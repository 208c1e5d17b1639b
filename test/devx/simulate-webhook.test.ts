import { createPublicKey } from 'node:crypto';
import { deliverCompletion, parseWalkScript, ScriptDriver, Simulator } from '../../src/devtools';
import { buildRegistry, type RegisteredFlow } from '../../src/endpoint';
import phoneComplete, { hookControls } from '../fixtures/flows/phone-complete';
import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The whole round trip of a flow that closes on the phone, locally: the simulator walks it against
 * the endpoint, completes on the "device", and delivers the reply to the webhook signed as WhatsApp
 * would; the service stores it, completes the token and runs the flow's onComplete.
 */
let t: TestService;
let flow: RegisteredFlow;
beforeAll(async () => {
  t = await startTestService({ flows: [phoneComplete] });
  flow = buildRegistry([phoneComplete], { schemaOverridesDir: '/nonexistent' }).get('phone-complete') as RegisteredFlow;
});
afterAll(async () => {
  await t.stop();
});

const script = parseWalkScript(
  JSON.stringify({
    flow: 'phone-complete',
    init: { expect: { screen: 'SURVEY' } },
    steps: [{ screen: 'SURVEY', inputs: { name: 'Ada', national_id: 'X1' }, press: 'Send' }],
  }),
  'inline',
);

function simulator(token: string, lines: string[], appSecret: string | undefined): Simulator {
  const out = (line: string): void => void lines.push(line);
  return new Simulator({
    flow,
    url: `${t.baseUrl}/flows/phone-complete`,
    publicKey: createPublicKey(t.keys.publicKeyPem),
    appSecret: t.env.META_APP_SECRET,
    token,
    driver: new ScriptDriver(script, 'inline'),
    out,
    onDeviceComplete: (payload) =>
      deliverCompletion({ url: `${t.baseUrl}/webhook`, appSecret, token, from: '14155550120', out }, payload),
  });
}

describe('when the simulator ends a walk with an on-phone complete and --webhook', () => {
  it('then the signed reply is stored, the token completed and the hook run', async () => {
    hookControls.calls.length = 0;
    const token = await t.issueToken('+14155550120', 'phone-complete');
    const lines: string[] = [];
    const result = await simulator(token, lines, t.env.META_APP_SECRET).run();
    expect(result.completed).toBe(true);
    expect(result.mismatches).toEqual([]);
    expect(lines.join('\n')).toMatch(
      /✓ completion reply delivered to http:\/\/127\.0\.0\.1:\d+\/webhook \(signed\): 200/,
    );
    expect(hookControls.calls).toHaveLength(1);
    expect(hookControls.calls[0]?.data).toEqual({ name: 'Ada', national_id: 'X1', source: 'survey' });
    expect((await t.client('phone-complete').init(token)).status).toBe(427);
  });

  it('then a delivery the webhook refuses (wrong app secret) stops the simulation with the reason', async () => {
    const token = await t.issueToken('+14155550121', 'phone-complete');
    await expect(simulator(token, [], 'not-the-app-secret').run()).rejects.toThrow(/answered 403.*app secret/);
    expect((await t.client('phone-complete').init(token)).status).toBe(200);
  });
});
