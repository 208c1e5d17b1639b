import { tmpdir } from 'node:os';
import { defineFlow, defineScreen, next } from '../../src/flow-api';
import { buildRegistry, type RegisteredFlow } from '../../src/endpoint';
import bookAppointment from '../../src/flows/book-appointment';
import { positionRefusal, possiblePositions, requiredScreens } from '../../src/endpoint/session-position';

/** Sessions follow the flow: which screens a client can be on, and what a completion requires. */

const registry = (definition: Parameters<typeof buildRegistry>[0][number]): RegisteredFlow => {
  const built = buildRegistry([definition], { schemaOverridesDir: tmpdir() });
  return [...built.values()][0] as RegisteredFlow;
};

/** A screen with one required input sent by data_exchange, or moved past with navigate. */
function screen(id: string, opts: { terminal?: boolean; navigateTo?: string } = {}): Record<string, unknown> {
  const action = opts.navigateTo
    ? { name: 'navigate', next: { type: 'screen', name: opts.navigateTo }, payload: {} }
    : { name: 'data_exchange', payload: { x: '${form.x}' } };
  return {
    id,
    title: id,
    ...(opts.terminal ? { terminal: true, success: true } : {}),
    layout: {
      type: 'SingleColumnLayout',
      children: [
        { type: 'TextInput', name: 'x', label: 'X', required: true },
        { type: 'Footer', label: 'Go', 'on-click-action': action },
      ],
    },
  };
}

const handlers = (ids: string[]) => ids.map((id) => defineScreen(id, { onDataExchange: () => next(id, {}) }));

// A → B → D and A → C → D: D can be completed through B or C; A is on every route.
const branching = registry(
  defineFlow({
    id: 'branching',
    flowJson: {
      version: '6.0',
      data_api_version: '3.0',
      routing_model: { A: ['B', 'C'], B: ['D'], C: ['D'], D: [] },
      screens: [screen('A'), screen('B'), screen('C'), screen('D', { terminal: true })],
    },
    onInit: () => next('A', {}),
    screens: handlers(['A', 'B', 'C', 'D']),
  }),
);

// A → N (navigate, on the device) → E: N needs no answer; E is reachable from A without the endpoint.
const navigating = registry(
  defineFlow({
    id: 'navigating',
    flowJson: {
      version: '6.0',
      data_api_version: '3.0',
      routing_model: { A: ['N'], N: ['E'], E: [] },
      screens: [screen('A'), screen('N', { navigateTo: 'E' }), screen('E', { terminal: true })],
    },
    onInit: () => next('A', {}),
    screens: handlers(['A', 'E']),
  }),
);

const example = registry(bookAppointment);

describe('when the session was last sent a screen', () => {
  it('then the client can be on it, on earlier screens it was sent, and on entry screens only', () => {
    expect([...possiblePositions(example, 'DETAILS', ['APPOINTMENT', 'DETAILS'])].sort()).toEqual([
      'APPOINTMENT',
      'DETAILS',
    ]);
    expect([...possiblePositions(example, 'SUMMARY', ['APPOINTMENT', 'DETAILS', 'SUMMARY'])].sort()).toEqual([
      'APPOINTMENT',
      'DETAILS',
      'SUMMARY',
    ]);
    expect([...possiblePositions(example, undefined, [])]).toEqual(['APPOINTMENT']);
    // A screen sent in an earlier walk but ahead of the current one is not a position.
    expect(possiblePositions(example, 'APPOINTMENT', ['APPOINTMENT', 'DETAILS', 'SUMMARY']).has('DETAILS')).toBe(false);
  });

  it('then screens reached by navigate actions are positions, and a skip is refused with a reason', () => {
    expect([...possiblePositions(navigating, 'N', ['A', 'N'])].sort()).toEqual(['A', 'E', 'N']);
    expect(positionRefusal(example, 'data_exchange', 'SUMMARY', 'DETAILS', ['APPOINTMENT', 'DETAILS'])).toBe(
      'data_exchange from screen SUMMARY, which this session cannot be on (last sent: DETAILS)',
    );
    expect(positionRefusal(example, 'BACK', 'DETAILS', 'APPOINTMENT', ['APPOINTMENT'])).toMatch(/cannot be on/);
    expect(positionRefusal(example, 'INIT', undefined, 'SUMMARY', [])).toBeUndefined();
    // Unknown screens are left to the screen runner's own 400.
    expect(positionRefusal(example, 'data_exchange', 'NOPE', 'DETAILS', [])).toBeUndefined();
  });
});

describe('when a handler completes the flow', () => {
  it('then the screens on every route to it that only the endpoint can leave are required', () => {
    expect(requiredScreens(example, 'SUMMARY')).toEqual(['APPOINTMENT', 'DETAILS']);
    expect(requiredScreens(example, 'DETAILS')).toEqual(['APPOINTMENT']);
    expect(requiredScreens(example, 'APPOINTMENT')).toEqual([]);
    // Branches: only the screen common to both routes.
    expect(requiredScreens(branching, 'D')).toEqual(['A']);
    // A navigate screen is left on the device: not required.
    expect(requiredScreens(navigating, 'E')).toEqual(['A']);
  });
});
