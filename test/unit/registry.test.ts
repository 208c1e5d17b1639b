import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { defineFlow, defineScreen, next, type FlowDefinition } from '../../src/flow-api';
import { buildRegistry, RegistrationError } from '../../src/endpoint';
import bookAppointment from '../../src/flows/book-appointment';
import { createLogger } from '../../src/logging';
import { createService } from '../../src/service';
import misbehaving from '../fixtures/flows/misbehaving';
import misbehavingJson from '../fixtures/flows/misbehaving/flow.json';
import { makeTestKeys, testEnv } from '../helpers/env';

/**
 * Registrations are checked at boot (src/ARCHITECTURE.md, rule 4): every problem stops the start with a
 * RegistrationError whose message names the flow, the screen and, for schemas, the `$id`.
 */

let overridesDir: string;
beforeEach(() => {
  overridesDir = mkdtempSync(join(tmpdir(), 'flowgate-overrides-'));
});
afterEach(() => rmSync(overridesDir, { recursive: true, force: true }));

function problemsOf(definitions: readonly FlowDefinition[]): string[] {
  try {
    buildRegistry(definitions, { schemaOverridesDir: overridesDir });
  } catch (err) {
    expect(err).toBeInstanceOf(RegistrationError);
    expect((err as Error).message).toContain('flow registration failed');
    return [...(err as RegistrationError).problems];
  }
  throw new Error('expected a RegistrationError');
}

/** A deep copy of the misbehaving Flow JSON to break in one place. */
function flowJson(): Record<string, unknown> & { screens: Record<string, unknown>[] } {
  return structuredClone(misbehavingJson) as unknown as Record<string, unknown> & {
    screens: Record<string, unknown>[];
  };
}

const [start, middle] = misbehaving.screens as [FlowDefinition['screens'][0], FlowDefinition['screens'][0]];
const variant = (changes: Partial<FlowDefinition>): FlowDefinition => defineFlow({ ...misbehaving, ...changes });

describe('when every registration is sound', () => {
  it('then the example flow and the misbehaving test flow register together', () => {
    const registry = buildRegistry([bookAppointment, misbehaving], { schemaOverridesDir: overridesDir });
    expect([...registry.keys()]).toEqual(['book-appointment', 'misbehaving']);
    expect(registry.get('misbehaving')?.model.entryScreens).toEqual(['START']);
  });
});

describe('when handlers do not match the Flow JSON', () => {
  it('then a duplicate screen handler names the flow and the screen', () => {
    expect(problemsOf([variant({ screens: [start, start, middle] })])).toEqual([
      'flow "misbehaving", screen START: has two handlers (duplicate defineScreen)',
    ]);
  });

  it('then a handler for a screen missing from the Flow JSON names that screen', () => {
    const ghost = defineScreen('GHOST', { onDataExchange: () => next('START') });
    expect(problemsOf([variant({ screens: [start, middle, ghost] })])).toEqual([
      'flow "misbehaving", screen GHOST: has a handler but is not a screen of the Flow JSON',
    ]);
  });

  it('then a non-terminal screen that sends data_exchange without a handler is named', () => {
    const problems = problemsOf([variant({ screens: [start] })]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^flow "misbehaving", screen MIDDLE: sends data_exchange \(.+\) but has no onDataExchange/,
        ),
        'flow "misbehaving", screen MIDDLE: has refresh_on_back: true but no onBack handler',
      ]),
    );
  });

  it('then a non-terminal screen the user cannot leave (no handler, no navigate) is named', () => {
    const json = flowJson();
    const screen = json.screens[1] as Record<string, unknown>;
    delete screen.refresh_on_back;
    (screen.layout as { children: unknown[] }).children[1] = {
      type: 'Footer',
      label: 'Done',
      'on-click-action': { name: 'complete', payload: {} },
    };
    expect(problemsOf([variant({ flowJson: json, screens: [start] })])).toEqual([
      'flow "misbehaving", screen MIDDLE: is not terminal, has no handler and no navigate action: the user cannot leave it',
    ]);
  });

  it('then a handler the client can never call (onBack without refresh_on_back) is named', () => {
    const startWithBack = defineScreen('START', {
      onDataExchange: () => next('MIDDLE', { note: 'x' }),
      onBack: () => next('START'),
    });
    expect(problemsOf([variant({ screens: [startWithBack, middle] })])).toEqual([
      'flow "misbehaving", screen START: has onBack but not refresh_on_back: true in its Flow JSON',
    ]);
  });

  it('then a missing onInit, a bad flow id and a flow registered twice are named', () => {
    expect(problemsOf([variant({ onInit: undefined as never })])).toEqual([
      'flow "misbehaving": onInit handler is missing',
    ]);
    expect(problemsOf([variant({ id: 'Bad Id/1' })])[0]).toMatch(/^flow "Bad Id\/1": id must match/);
    expect(problemsOf([misbehaving, misbehaving])).toEqual(['flow "misbehaving": registered twice']);
  });

  it('then auditValues naming a sensitive or unknown field are refused', () => {
    expect(problemsOf([variant({ auditValues: ['nope'] })])).toEqual([
      'flow "misbehaving": auditValues names "nope", which is no input of this flow',
    ]);
    expect(problemsOf([defineFlow({ ...bookAppointment, auditValues: ['notes'] })])).toEqual([
      'flow "book-appointment", screen DETAILS: auditValues names "notes", which is marked sensitive',
    ]);
  });
});

describe('when a schema override is broken', () => {
  const writeOverride = (file: string, text: string): void => {
    mkdirSync(join(overridesDir, 'misbehaving'), { recursive: true });
    writeFileSync(join(overridesDir, 'misbehaving', file), text);
  };

  it('then an override that does not compile names flow, screen and schema $id', () => {
    writeOverride('START.json', JSON.stringify({ type: 'object', properties: { name: { type: 'strnig' } } }));
    const [problem] = problemsOf([misbehaving]);
    expect(problem).toMatch(/^flow "misbehaving", screen START: schema flowgate:flows\/misbehaving\/START\/override/);
    expect(problem).toContain('does not compile');
  });

  it('then an override with an unknown keyword (strict mode) is refused', () => {
    writeOverride('START.json', JSON.stringify({ type: 'object', minProperites: 1 }));
    expect(problemsOf([misbehaving])[0]).toMatch(/screen START: schema flowgate:flows\/misbehaving\/START\/override/);
  });

  it('then an override that is not JSON, or names no screen, is refused', () => {
    writeOverride('START.json', '{ not json');
    writeOverride('GHOST.json', '{}');
    const problems = problemsOf([misbehaving]);
    expect(problems).toEqual(
      expect.arrayContaining([
        'flow "misbehaving": schema override GHOST.json names no screen of the Flow JSON',
        expect.stringMatching(/^flow "misbehaving", screen START: schema override START.json is not valid JSON/),
      ]),
    );
  });

  it('then a valid override replaces the derived schema', () => {
    writeOverride('START.json', JSON.stringify({ type: 'object', required: ['name'] }));
    const registry = buildRegistry([misbehaving], { schemaOverridesDir: overridesDir });
    const incoming = registry.get('misbehaving')?.screens.get('START')?.incoming ?? [];
    expect(incoming).toHaveLength(1);
    expect(incoming[0]?.validate({ name: 'x', anything: 1 })).toBe(true);
  });
});

describe('when the Flow JSON is malformed', () => {
  const broken: [string, (json: ReturnType<typeof flowJson>) => unknown, RegExp][] = [
    ['not an object', () => 'flow.json', /^flow "misbehaving": Flow JSON must be a JSON object \(flow.json \/\)$/],
    ['an array', () => [], /Flow JSON must be a JSON object/],
    [
      'without screens',
      (j) => ({ ...j, screens: [] }),
      /^flow "misbehaving": screens must be a non-empty array \(flow.json \/screens\)$/,
    ],
    ['without a version', (j) => ({ ...j, version: 6 }), /version must be a string like "6.0" \(flow.json \/version\)/],
    ['with data_api_version 2.0', (j) => ({ ...j, data_api_version: '2.0' }), /data_api_version must be "3.0"/],
    ['without routing_model', (j) => ({ ...j, routing_model: undefined }), /routing_model is required/],
    [
      'routing to an unknown screen',
      (j) => ({ ...j, routing_model: { ...(j.routing_model as object), MIDDLE: ['END', 'LOST'] } }),
      /^flow "misbehaving", screen MIDDLE: "LOST" is not a screen of this flow \(flow.json \/routing_model\/MIDDLE\/1\)$/,
    ],
    [
      'with a screen that routes to itself',
      (j) => ({ ...j, routing_model: { ...(j.routing_model as object), MIDDLE: ['END', 'MIDDLE'] } }),
      /screen MIDDLE: "MIDDLE" routes to itself/,
    ],
    [
      'with a screen id that is not letters',
      (j) => {
        (j.screens[2] as Record<string, unknown>).id = 'END-1';
        return j;
      },
      /screen id must be letters and underscores \(flow.json \/screens\/2\/id\)/,
    ],
    [
      'with a SUCCESS screen',
      (j) => {
        (j.screens[2] as Record<string, unknown>).id = 'SUCCESS';
        return { ...j, routing_model: { START: ['MIDDLE'], MIDDLE: ['SUCCESS'], SUCCESS: [] } };
      },
      /"SUCCESS" is reserved/,
    ],
    [
      'with an undeclared ${data.x} binding',
      (j) => {
        (j.screens[1] as { data: Record<string, unknown> }).data = {};
        return j;
      },
      /^flow "misbehaving", screen MIDDLE: \$\{data.note\} is used but "note" is not declared/,
    ],
    [
      'with a data declaration without __example__',
      (j) => {
        (j.screens[1] as { data: Record<string, unknown> }).data = { note: { type: 'string' } };
        return j;
      },
      /screen MIDDLE: data property "note" needs an __example__/,
    ],
    [
      'with a ${form.x} binding to no input',
      (j) => {
        const footer = ((j.screens[1] as { layout: { children: Record<string, unknown>[] } }).layout.children[1] ??
          {}) as { 'on-click-action': { payload: Record<string, unknown> } };
        footer['on-click-action'].payload.who = '${form.who}';
        return j;
      },
      /screen MIDDLE: \$\{form.who\} refers to no input named "who"/,
    ],
    [
      'without a terminal screen',
      (j) => {
        delete (j.screens[2] as Record<string, unknown>).terminal;
        return j;
      },
      /no terminal screen/,
    ],
  ];

  it.each(broken)('when it is %s, then registration fails naming flow, screen and path', (_what, change, message) => {
    const problems = problemsOf([variant({ flowJson: change(flowJson()) })]);
    expect(problems).toContainEqual(expect.stringMatching(message));
    for (const p of problems) expect(p).toMatch(/^flow "misbehaving"/);
  });
});

describe('when the service is created with a bad registration', () => {
  it('then createService refuses to start with the RegistrationError, before any request is served', async () => {
    const keys = makeTestKeys();
    try {
      const config = loadConfig(testEnv(keys), { devSecretsDir: keys.dir });
      const logger = createLogger({ level: 'error', format: 'json', sink: () => undefined });
      const bad = variant({ screens: [start, start, middle] });
      await expect(createService(config, { flows: [bad], logger })).rejects.toThrow(RegistrationError);
      await expect(createService(config, { flows: [bad], logger })).rejects.toThrow(
        'flow "misbehaving", screen START: has two handlers',
      );
    } finally {
      keys.cleanup();
    }
  });
});
