import { httpsOnlyProblems, type HttpsRuleOptions } from './https-only';
import { compareVersions, parseFlowJson } from './parse';
import type { FlowModel, Problem, ScreenModel } from './types';

/** Meta caps the routing model at 10 branches (src/protocol/NOTES.md, "Flow JSON facts"). */
const MAX_BRANCHES = 10;

/** The newest Flow JSON version flowgate knows (src/protocol/NOTES.md, "Data API 4.0"). */
export const NEWEST_FLOW_JSON_VERSION = '7.3';
/** Data API versions an endpoint flow may declare. */
export const SERVED_DATA_API_VERSIONS: readonly string[] = ['3.0', '4.0'];

/**
 * Everything flowgate can check in a Flow JSON without Meta: structure, the routing model rules of
 * src/protocol/NOTES.md, "Flow JSON facts" (entry screen, terminal screens, no self-routes, routes that end), `${data.x}` and
 * `${form.x}` bindings, `__example__` on every data declaration, `sensitive` names. Boot refuses a
 * flow with errors; `npm run check` prints them all.
 */
export function checkFlowJson(
  json: unknown,
  options: HttpsRuleOptions = {},
): { model: FlowModel | undefined; problems: Problem[] } {
  const { model, problems } = parseFlowJson(json);
  problems.push(...httpsOnlyProblems(json, options)); // src/flow-json/https-only.ts
  if (!model) return { model, problems };
  const error = (path: string, message: string, screen?: string): void => {
    problems.push({ severity: 'error', path, message, ...(screen ? { screen } : {}) });
  };
  const warn = (path: string, message: string, screen?: string): void => {
    problems.push({ severity: 'warning', path, message, ...(screen ? { screen } : {}) });
  };

  if (!SERVED_DATA_API_VERSIONS.includes(model.dataApiVersion ?? '')) {
    error('/data_api_version', 'data_api_version must be "3.0" or "4.0" for a flow served by this endpoint');
  }
  if (model.version && compareVersions(model.version, NEWEST_FLOW_JSON_VERSION) > 0) {
    warn(
      '/version',
      `Flow JSON ${model.version} is newer than ${NEWEST_FLOW_JSON_VERSION}, the newest flowgate knows; ` +
        'what it adds is not checked',
    );
  }
  if (model.dataApiVersion === '4.0' && model.version && compareVersions(model.version, '7.3') < 0) {
    warn(
      '/data_api_version',
      'data_api_version 4.0 with Flow JSON before 7.3: WhatsApp sends no flow_token_signature (use 7.3)',
    );
  }
  const routes = model.routingModel;
  if (Object.keys(routes).length === 0) {
    error('/routing_model', 'routing_model is required for a flow with an endpoint');
  }
  let branches = 0;
  for (const [from, targets] of Object.entries(routes)) {
    const path = `/routing_model/${from}`;
    if (!model.screens.has(from)) error(path, `"${from}" is not a screen of this flow`);
    targets.forEach((to, i) => {
      if (to === from) error(`${path}/${i}`, `"${from}" routes to itself; routes are forward edges only`, from);
      else if (!model.screens.has(to)) error(`${path}/${i}`, `"${to}" is not a screen of this flow`, from);
    });
    branches += targets.length;
  }
  if (branches > MAX_BRANCHES)
    warn('/routing_model', `${branches} routes; Meta allows at most ${MAX_BRANCHES} branches`);

  if (model.screens.has('SUCCESS')) error('/screens', '"SUCCESS" is reserved and cannot be a screen id');
  if (model.entryScreens.length === 0) error('/routing_model', 'no entry screen: every screen has a route into it');
  if (model.entryScreens.length > 1) {
    warn('/routing_model', `several entry screens (${model.entryScreens.join(', ')}); a flow usually has one`);
  }
  const terminals = [...model.screens.values()].filter((s) => s.terminal);
  if (terminals.length === 0) error('/screens', 'no terminal screen: a flow must end somewhere');
  else if (!terminals.some((s) => s.success)) error('/screens', 'at least one terminal screen must have success true');

  const canFinish = screensThatReachATerminal(model);
  for (const screen of model.screens.values()) {
    checkScreen(model, screen, canFinish, error, warn);
  }
  return { model, problems };
}

type Report = (path: string, message: string, screen?: string) => void;

function checkScreen(model: FlowModel, screen: ScreenModel, canFinish: Set<string>, error: Report, warn: Report): void {
  const base = `/screens/${screen.index}`;
  const id = screen.id;
  const outgoing = model.routingModel[id];
  if (outgoing === undefined && Object.keys(model.routingModel).length > 0) {
    warn(base, `screen "${id}" is missing from routing_model`, id);
  }
  if (screen.terminal) {
    if (!screen.hasFooter) error(`${base}/layout`, 'a terminal screen must contain a Footer', id);
    if (outgoing && outgoing.length > 0) warn(`/routing_model/${id}`, 'a terminal screen usually routes nowhere', id);
  } else if (!canFinish.has(id)) {
    error(`/routing_model/${id}`, `no route from "${id}" reaches a terminal screen`, id);
  }
  for (const [key, decl] of Object.entries(screen.dataDeclaration)) {
    const path = `${base}/data/${key}`;
    if (typeof decl.type !== 'string') error(path, `data property "${key}" needs a type`, id);
    if (!('__example__' in decl)) error(path, `data property "${key}" needs an __example__ (Meta requires one)`, id);
  }
  for (const binding of screen.dataBindings) {
    if (!(binding.key in screen.dataDeclaration)) {
      error(
        binding.path,
        `\${data.${binding.key}} is used but "${binding.key}" is not declared in the screen's data`,
        id,
      );
    }
  }
  for (const binding of screen.formBindings) {
    if (!screen.fields.has(binding.key)) {
      error(binding.path, `\${form.${binding.key}} refers to no input named "${binding.key}" on this screen`, id);
    }
  }
  for (const nav of screen.navigateTargets) {
    if (!(outgoing ?? []).includes(nav.screen)) {
      error(nav.path, `navigate to "${nav.screen}" is not a route of "${id}" in routing_model`, id);
    }
  }
  checkFlowJson7(model, screen, error, warn);
  screen.sensitive.forEach((name, i) => {
    if (!screen.fields.has(name))
      error(`${base}/sensitive/${i}`, `sensitive field "${name}" is not an input on this screen`, id);
  });
}

/** Screens from which some route leads to a terminal screen. */
function screensThatReachATerminal(model: FlowModel): Set<string> {
  const reach = new Set([...model.screens.values()].filter((s) => s.terminal).map((s) => s.id));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [from, targets] of Object.entries(model.routingModel)) {
      if (!reach.has(from) && targets.some((t) => reach.has(t))) {
        reach.add(from);
        grew = true;
      }
    }
  }
  return reach;
}

/** What Flow JSON 4.0–7.3 adds that an endpoint depends on: conditionals, new actions, cross-screen bindings. */
function checkFlowJson7(model: FlowModel, screen: ScreenModel, error: Report, warn: Report): void {
  const id = screen.id;
  const atLeast = (v: string): boolean => compareVersions(model.version, v) >= 0;
  for (const c of screen.conditionals) {
    if (!atLeast('4.0')) warn(c.path, `${c.type} needs Flow JSON 4.0 or later`, id);
  }
  for (const action of screen.updateDataActions) {
    if (!atLeast('6.0')) warn(action.path, 'update_data needs Flow JSON 6.0 or later', id);
    for (const key of action.keys) {
      if (!(key in screen.dataDeclaration)) {
        error(`${action.path}/payload`, `update_data sets "${key}", which is not declared in the screen's data`, id);
      }
    }
  }
  for (const action of screen.openUrlActions) {
    if (!atLeast('6.0')) warn(action.path, 'open_url needs Flow JSON 6.0 or later', id);
    if (typeof action.url !== 'string' || action.url === '') error(`${action.path}/url`, 'open_url needs a url', id);
  }
  for (const action of screen.unknownActions) {
    warn(action.path, `action "${action.name}" is not one flowgate knows; the simulator cannot walk it`, id);
  }
  for (const init of screen.initValues) {
    for (const name of init.fields) {
      if (!screen.fields.has(name))
        error(init.path, `init-values names "${name}", which is no input on this screen`, id);
    }
  }
  for (const b of screen.screenBindings) {
    const other = model.screens.get(b.screen);
    const text = `\${screen.${b.screen}.${b.kind}.${b.key}}`;
    if (!atLeast('4.0')) warn(b.path, `${text} needs Flow JSON 4.0 or later`, id);
    if (!other) error(b.path, `${text} names no screen of this flow`, id);
    else if (b.kind === 'form' && !other.fields.has(b.key)) {
      error(b.path, `${text}: screen ${b.screen} has no input named "${b.key}"`, id);
    } else if (b.kind === 'data' && !(b.key in other.dataDeclaration)) {
      error(b.path, `${text}: "${b.key}" is not declared in the data of screen ${b.screen}`, id);
    }
  }
}
