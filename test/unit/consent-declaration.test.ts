import { defineFlow, type FlowDefinition } from '../../src/flow-api';
import { buildRegistry, RegistrationError } from '../../src/endpoint';
import type { ConsentDeclaration } from '../../src/consents';
import bookAppointment from '../../src/flows/book-appointment';
import { paths } from '../../src/paths';
import { runCli } from '../helpers/cli';

/** Consent declarations are registrations: checked at boot like the rest (src/consents/declaration.ts). */

const good: ConsentDeclaration = {
  field: 'consent',
  purpose: 'appointment-records',
  policyUrl: 'https://clinic.example/privacy',
  policyVersion: '2026-01',
};

function problemsOf(consents: readonly ConsentDeclaration[], flowJson: unknown = bookAppointment.flowJson): string[] {
  const flow: FlowDefinition = defineFlow({ ...bookAppointment, flowJson, consents });
  try {
    buildRegistry([flow], { schemaOverridesDir: paths.schemaOverrides });
  } catch (err) {
    expect(err).toBeInstanceOf(RegistrationError);
    return [...(err as RegistrationError).problems];
  }
  return [];
}

describe('when a flow declares consents', () => {
  it('then the example flow registers its SUMMARY OptIn with the payload key that carries it', () => {
    const flow = buildRegistry([bookAppointment], { schemaOverridesDir: paths.schemaOverrides }).get(
      'book-appointment',
    );
    expect(flow?.consents).toEqual([{ ...good, screen: 'SUMMARY', payloadKey: 'consent' }]);
  });

  it.each<[string, Partial<ConsentDeclaration>, RegExp]>([
    ['a field that is no OptIn', { field: 'name' }, /consents\[0\]\.field "name" is no OptIn of this flow/],
    ['an unknown field', { field: 'nope' }, /consents\[0\]\.field "nope" is no OptIn/],
    ['an http policy URL', { policyUrl: 'http://clinic.example/privacy' }, /policyUrl must be an https:\/\/ URL/],
    ['a purpose with spaces', { purpose: 'Appointment records' }, /purpose must match/],
    ['an empty policy version', { policyVersion: '' }, /policyVersion must be 1 to 128 printable characters/],
    ['a wrong screen', { screen: 'DETAILS' }, /is no OptIn on screen DETAILS/],
  ])('then %s stops the start', (_what, change, message) => {
    expect(problemsOf([{ ...good, ...change }]).join('\n')).toMatch(message);
  });

  it('then a purpose declared twice stops the start', () => {
    expect(problemsOf([good, { ...good }])).toEqual([
      'flow "book-appointment": consents[1]: purpose "appointment-records" is declared twice',
    ]);
  });

  it('then an OptIn its screen never sends to the endpoint stops the start (flowgate would never see the answer)', () => {
    const json = structuredClone(bookAppointment.flowJson) as {
      screens: { id: string; layout: { children: Record<string, unknown>[] } }[];
    };
    const footer = json.screens.find((s) => s.id === 'SUMMARY')?.layout.children.find((c) => c.type === 'Footer') as {
      'on-click-action': { payload: Record<string, unknown> };
    };
    footer['on-click-action'].payload = { confirmed: true };
    expect(problemsOf([good], json).join('\n')).toMatch(
      /screen SUMMARY: consents\[0\]\.field "consent": the screen's data_exchange payload must send it/,
    );
  });

  it('then npm run check passes the example flow with its consent declaration', async () => {
    const run = await runCli('check', ['--flow', 'book-appointment', '--production']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
