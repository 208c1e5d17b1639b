import type { RegisteredFlow } from './registry';

/**
 * Where a session can be, and what a completion needs — the checks that make sessions follow the
 * flow (issue 13: after a valid APPOINTMENT choice a client could send SUMMARY directly and
 * complete without DETAILS, because the routing model was checked for responses only).
 *
 * The client's position is known from what flowgate sent: the screen of the last response to this
 * token (`current`). From there a WhatsApp client can, without calling the endpoint:
 *   - follow `navigate` actions forward (the screens they reach are also positions);
 *   - go back (device back button, or BACK for `refresh_on_back` screens) to a screen it was on
 *     before: one this session was sent (or navigated to from one) that routes, directly or not,
 *     to `current`;
 *   - reopen the flow from the start, at an entry screen (a flow opened with flow_action
 *     "navigate" does so without INIT).
 * A data_exchange or BACK from any other screen is refused (OutOfSequenceError, 400): the client
 * never sends one, so it is a forged or replayed step. INIT is always allowed (it reopens the flow).
 */
export function possiblePositions(
  flow: RegisteredFlow,
  current: string | undefined,
  shown: readonly string[],
): Set<string> {
  const positions = navigateClosure(flow, [...flow.model.entryScreens, ...(current === undefined ? [] : [current])]);
  if (current !== undefined) {
    const earlier = ancestorsOf(flow, current);
    for (const screen of navigateClosure(flow, shown)) if (earlier.has(screen)) positions.add(screen);
  }
  return positions;
}

/** Why a request from `screen` is refused, or undefined when the session can be on it. */
export function positionRefusal(
  flow: RegisteredFlow,
  action: 'INIT' | 'BACK' | 'data_exchange',
  screen: string | null | undefined,
  current: string | null | undefined,
  shown: readonly string[],
): string | undefined {
  if (action === 'INIT') return undefined;
  // No screen, or one the Flow JSON does not have: refused by the screen runner (400) as before.
  if (!screen || !flow.screens.has(screen)) return undefined;
  if (possiblePositions(flow, current ?? undefined, shown).has(screen)) return undefined;
  return `${action} from screen ${screen}, which this session cannot be on (last sent: ${current ?? 'none'})`;
}

/**
 * The screens whose answers a completion from `completing` requires: every screen that lies on
 * each route from an entry screen to `completing`, sends data_exchange, and has no navigate action
 * (so a user can leave it only through the endpoint, which records its answer). A flow that
 * branches requires only the screens common to all branches. The completing screen's own answer is
 * the request being handled. Cached per flow and screen (the routing model is fixed at boot).
 */
export function requiredScreens(flow: RegisteredFlow, completing: string): readonly string[] {
  let perFlow = REQUIRED.get(flow);
  if (!perFlow) REQUIRED.set(flow, (perFlow = new Map()));
  const cached = perFlow.get(completing);
  if (cached) return cached;
  const required: string[] = [];
  // A flow without entry screens (its routes form a cycle) has no "start" to measure from.
  const entries = flow.model.entryScreens;
  if (entries.length > 0 && !entries.includes(completing)) {
    for (const [id, screen] of flow.screens) {
      if (id === completing || screen.incoming.length === 0 || screen.model.navigateTargets.length > 0) continue;
      if (!reachableAvoiding(flow, completing, id)) required.push(id);
    }
  }
  perFlow.set(completing, required);
  return required;
}

const REQUIRED = new WeakMap<RegisteredFlow, Map<string, readonly string[]>>();

/** Screens reachable from `start` through navigate actions only (client-side moves), `start` included. */
function navigateClosure(flow: RegisteredFlow, start: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = start.filter((s) => flow.screens.has(s));
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const target of flow.screens.get(id)?.model.navigateTargets ?? []) queue.push(target.screen);
  }
  return seen;
}

/** Screens from which `target` can be reached in the routing model (`target` excluded). */
function ancestorsOf(flow: RegisteredFlow, target: string): Set<string> {
  const seen = new Set<string>();
  const queue = [target];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    for (const [from, tos] of Object.entries(flow.model.routingModel)) {
      if (tos.includes(id) && !seen.has(from) && from !== target) {
        seen.add(from);
        queue.push(from);
      }
    }
  }
  return seen;
}

/** Whether `target` is reachable from an entry screen on routes that do not pass `avoided`. */
function reachableAvoiding(flow: RegisteredFlow, target: string, avoided: string): boolean {
  const seen = new Set<string>();
  const queue = flow.model.entryScreens.filter((s) => s !== avoided);
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of flow.model.routingModel[id] ?? []) if (next !== avoided) queue.push(next);
  }
  return false;
}
