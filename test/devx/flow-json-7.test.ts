import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BadReplyError,
  ScriptDriver,
  Simulator,
  checkFlows,
  parseWalkScript,
  type SimulationResult,
} from '../../src/devtools';
import { checkFlowJson, deriveIncomingSchemas } from '../../src/flow-json';
import { defineFlow, next } from '../../src/flow-api';
import bookAppointment from '../../src/flows/book-appointment';
import flowJson73, { sizes } from '../fixtures/flows/flow-json-73';
import { PROJECT_ROOT } from '../helpers/cli';
import { startTestService, type TestService } from '../helpers/test-service';

/**
 * Flow JSON 7.x in the checker and the simulator (issue 14): a 7.3 / Data API 4.0 flow with `If`,
 * `Switch`, `update_data`, `open_url` and a `${screen.S.form.x}` binding is checked clean and
 * walked against the real service — which requires flow_token_signature here, so the simulator's
 * signing is exercised too.
 */
const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/flows/flow-json-73');
const fixtureJson = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(FIXTURE, 'flow.json'), 'utf8')) as Record<string, unknown>;

type Json = Record<string, unknown>;
const screenOf = (json: Json, i: number): Json => (json.screens as Json[])[i] as Json;
const childrenOf = (json: Json, i: number): Json[] => (screenOf(json, i).layout as { children: Json[] }).children;

describe('when the checker reads a Flow JSON 7.3 flow on Data API 4.0', () => {
  it('then it accepts it and understands If, Switch, update_data, open_url and screen bindings', () => {
    const { model, problems } = checkFlowJson(fixtureJson());
    expect(problems).toEqual([]);
    const choose = model?.screens.get('CHOOSE');
    expect(choose?.conditionals.map((c) => c.type)).toEqual(['Switch', 'If']);
    expect(choose?.updateDataActions.map((a) => a.keys)).toEqual([['show_extras', 'picked']]);
    expect(choose?.openUrlActions.map((a) => a.url)).toEqual(['https://example.com/plans/terms']);
    expect(model?.screens.get('CONFIRM')?.screenBindings).toContainEqual(
      expect.objectContaining({ screen: 'CHOOSE', kind: 'form', key: 'plan' }),
    );
    // An input inside an If branch may not be on screen: never required in the payload.
    expect(choose?.fields.get('extras')).toMatchObject({ required: true, conditional: true });
    const [incoming] = deriveIncomingSchemas(choose!, '7.3', 'x');
    expect(incoming?.schema.required).toEqual(['plan']);
  });

  it('then the example flow itself is on 7.3 and 4.0 and checks clean', () => {
    const { model, problems } = checkFlowJson(bookAppointment.flowJson);
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(model).toMatchObject({ version: '7.3', dataApiVersion: '4.0' });
  });

  const broken: [string, (json: Json) => void, 'error' | 'warning', RegExp][] = [
    [
      'an update_data key the screen does not declare',
      (j) => {
        ((childrenOf(j, 0)[0] as Json)['on-select-action'] as { payload: Json }).payload.nope = 1;
      },
      'error',
      /update_data sets "nope", which is not declared/,
    ],
    [
      'a ${screen.S.form.x} naming no screen',
      (j) => {
        (childrenOf(j, 1)[1] as Json).text = '${screen.NOWHERE.form.plan}';
      },
      'error',
      /names no screen of this flow/,
    ],
    [
      'a ${screen.S.form.x} naming no input of S',
      (j) => {
        (childrenOf(j, 1)[1] as Json).text = '${screen.CHOOSE.form.nope}';
      },
      'error',
      /screen CHOOSE has no input named "nope"/,
    ],
    [
      'a ${screen.S.data.x} S does not declare',
      (j) => {
        (childrenOf(j, 1)[1] as Json).text = '${screen.CHOOSE.data.nope}';
      },
      'error',
      /"nope" is not declared in the data of screen CHOOSE/,
    ],
    [
      'open_url without a url',
      (j) => {
        delete ((childrenOf(j, 0)[3] as Json)['on-click-action'] as Json).url;
      },
      'error',
      /open_url needs a url/,
    ],
    [
      'an action name flowgate does not know',
      (j) => {
        ((childrenOf(j, 0)[3] as Json)['on-click-action'] as Json).name = 'teleport';
      },
      'warning',
      /action "teleport" is not one flowgate knows/,
    ],
    [
      'data_api_version 5.0',
      (j) => {
        j.data_api_version = '5.0';
      },
      'error',
      /data_api_version must be "3.0" or "4.0"/,
    ],
    [
      'a Flow JSON version newer than 7.3',
      (j) => {
        j.version = '8.0';
      },
      'warning',
      /newer than 7.3/,
    ],
    [
      'the same input name twice outside If branches',
      (j) => {
        childrenOf(j, 0).push({ type: 'TextInput', name: 'plan', label: 'Again' });
      },
      'error',
      /two inputs are named "plan"/,
    ],
    [
      'init-values naming no input',
      (j) => {
        childrenOf(j, 0).unshift({ type: 'Form', name: 'f', 'init-values': { ghost: 'x' }, children: [] });
      },
      'error',
      /init-values names "ghost"/,
    ],
  ];

  it.each(broken)('with %s, then it reports it', (_what, breakIt, severity, message) => {
    const json = fixtureJson();
    breakIt(json);
    const { problems } = checkFlowJson(json);
    expect(problems).toContainEqual(expect.objectContaining({ severity, message: expect.stringMatching(message) }));
  });

  it('then the same input name in the two branches of one If is fine (only one is shown)', () => {
    const json = fixtureJson();
    const ifNode = childrenOf(json, 0)[2] as Json;
    ifNode.else = [{ type: 'TextInput', name: 'extras', label: 'Other note' }];
    expect(checkFlowJson(json).problems).toEqual([]);
  });
});

describe('when npm run check reads the handlers of a 7.3 flow', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowgate-check7-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const check = (flowsDir: string, definition = flowJson73) =>
    checkFlows([definition], { flowsDir, schemaOverridesDir: join(dir, 'none'), root: flowsDir });

  it("then the fixture's own handlers and the example flow's pass clean", async () => {
    expect(await check(join(PROJECT_ROOT, 'test/fixtures/flows'))).toEqual([]);
    expect(
      await checkFlows([bookAppointment], {
        flowsDir: join(PROJECT_ROOT, 'src/flows'),
        schemaOverridesDir: join(dir, 'none'),
        root: PROJECT_ROOT,
      }),
    ).toEqual([]);
  });

  it('then a literal next() whose keys cannot cover a declared field is warned about', async () => {
    mkdirSync(join(dir, 'flow-json-73'));
    writeFileSync(
      join(dir, 'flow-json-73', 'choose.ts'),
      "export const choose = defineScreen('CHOOSE', { onDataExchange: () => next('CONFIRM', { total: 1 }) });\n" +
        "export const spread = () => next('CONFIRM', { ...base });\n",
    );
    const out = await check(dir);
    expect(out).toEqual([
      expect.objectContaining({
        severity: 'warning',
        screen: 'CONFIRM',
        path: 'line 1',
        message: expect.stringMatching(/next\("CONFIRM", \{…\}\) returns no "summary", declared in CONFIRM's data/),
      }),
    ]);
  });

  it("then an onInit answer over WhatsApp's 1 MB limit is an error", async () => {
    const huge = defineFlow({
      ...flowJson73,
      onInit: () =>
        next('CHOOSE', { plans: [{ id: 'x', title: 'y'.repeat(800_000) }], show_extras: false, picked: '' }),
    });
    expect(await check(dir, huge)).toContainEqual(
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/takes at most 1000000/) }),
    );
  });
});

describe('when the simulator walks a Flow JSON 7.3 flow against the real service', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ flows: [flowJson73, bookAppointment], env: { FLOW_TOKEN_SIGNATURE: 'required' } });
  });
  afterAll(async () => {
    await t.stop();
  });
  afterEach(() => {
    sizes.summaryBytes = 0;
  });

  const walk = async (flowId: string, scriptFile: string, version?: string): Promise<[SimulationResult, string[]]> => {
    const lines: string[] = [];
    const flow = t.service.registry.get(flowId)!;
    const result = await new Simulator({
      flow,
      url: `${t.baseUrl}/flows/${flowId}`,
      publicKey: createPublicKey(t.keys.publicKeyPem),
      appSecret: t.env.META_APP_SECRET,
      token: await t.issueToken('+14155550190', flowId),
      driver: new ScriptDriver(parseWalkScript(readFileSync(scriptFile, 'utf8'), scriptFile), scriptFile),
      out: (line) => lines.push(line),
      ...(version ? { dataApiVersion: version } : {}),
    }).run();
    return [result, lines];
  };

  it('then update_data and open_url happen on the device, If and Switch show the chosen branch', async () => {
    const [result, lines] = await walk('flow-json-73', join(FIXTURE, 'walk.steps.json'));
    const text = lines.join('\n');
    expect(result.mismatches).toEqual([]);
    expect(result.completed).toBe(true);
    expect(result.params).toMatchObject({ plan: 'pro' });
    // INIT and two data_exchange: update_data and open_url sent nothing.
    expect(result.requests).toBe(3);
    expect(text).toContain('→ update_data on the device (no request): {"show_extras":true,"picked":"pro"}');
    expect(text).toContain('→ open_url https://example.com/plans/terms (opens outside the flow; the walk goes on');
    // Before the plan is chosen: the If's else branch, no Switch case; after: the note input and the Pro case.
    const first = text.slice(0, text.indexOf('update_data'));
    expect(first).toContain('Pick a plan to add a note.');
    expect(first).not.toContain('Anything else?');
    const after = text.slice(text.indexOf('update_data'));
    // The input starts from its init-value, as on a phone.
    expect(after).toContain('[TextInput] Anything else? * = "None"');
    expect(after).toContain('Pro: unlimited visits.');
    expect(after).not.toContain('Basic: one visit a month.');
    expect(text).toContain('Plan chosen: pro');
  });

  it('then the example flow walks on Data API 4.0 with flow_token_signature', async () => {
    const [result] = await walk('book-appointment', join(PROJECT_ROOT, 'src/flows/book-appointment/walk.steps.json'));
    expect(result.mismatches).toEqual([]);
    expect(result.completed).toBe(true);
  });

  it('then an answer over the 1 MB limit is reported with the cause to look for', async () => {
    sizes.summaryBytes = 760_000;
    await expect(walk('flow-json-73', join(FIXTURE, 'walk.steps.json'))).rejects.toThrow(BadReplyError);
    await expect(walk('flow-json-73', join(FIXTURE, 'walk.steps.json'))).rejects.toThrow(
      /HTTP 500.*response_too_large/,
    );
  });
});
