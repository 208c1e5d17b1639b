/**
 * Reads what the type generator needs from a Flow JSON document: per screen, its inputs (with the
 * value type each sends), its `data_exchange` payloads, its `data` declaration; and the routing
 * model. It walks the raw document itself rather than the runtime's FlowModel because it must
 * know more: whether an input sits inside an `If`/`Switch` branch (Flow JSON 4.0+: it may not be
 * shown, so its value may be missing) and every input of the same name across branches.
 */

import { INPUT_COMPONENTS, isJsonObject } from './components';

type Json = Record<string, unknown>;

const isObject: (v: unknown) => v is Json = isJsonObject;

/** Components that send a value under their `name`. */
export const VALUE_COMPONENTS = INPUT_COMPONENTS;

/** Components whose children are shown only when a condition holds (Flow JSON 4.0+). */
const CONDITIONAL_COMPONENTS = new Set(['If', 'Switch']);

export interface InputInfo {
  readonly name: string;
  readonly component: string;
  /** Literal `true` only; a `${data.x}` binding or a missing flag counts as optional. */
  readonly required: boolean;
  /** Inside an If/Switch branch: the input may not be on screen when the payload is sent. */
  readonly conditional: boolean;
  readonly inputType: string | undefined;
  /** Option ids of a literal `data-source`; undefined when bound to data. */
  readonly optionIds: readonly string[] | undefined;
  readonly mode: string | undefined;
}

export interface ScreenInfo {
  readonly id: string;
  /** Inputs by name; more than one when If/Switch branches reuse a name. */
  readonly inputs: ReadonlyMap<string, readonly InputInfo[]>;
  /** Each `data_exchange` action's payload, in document order. */
  readonly payloads: readonly Json[];
  /** The `data` declaration as written. */
  readonly data: Readonly<Record<string, Json>>;
  /** Data keys bound to error messages (Form `error-messages`, component `error-message`): optional in responses. */
  readonly errorKeys: ReadonlySet<string>;
  /** `refresh_on_back: true`: back on this screen asks the endpoint (onBack) for the previous screen's data. */
  readonly refreshOnBack: boolean;
}

export interface FlowInfo {
  readonly version: string;
  readonly screens: ReadonlyMap<string, ScreenInfo>;
  readonly routingModel: Readonly<Record<string, readonly string[]>>;
}

const WHOLE_DATA = /^\$\{data\.([A-Za-z0-9_]+)\}$/;

/** Throws with a short reason when the document is not a Flow JSON the generator can read. */
export function readFlow(json: unknown): FlowInfo {
  if (!isObject(json)) throw new Error('Flow JSON must be a JSON object');
  const version = typeof json.version === 'string' ? json.version : '';
  if (!Array.isArray(json.screens)) throw new Error('Flow JSON has no "screens" array');
  const screens = new Map<string, ScreenInfo>();
  json.screens.forEach((raw: unknown, index: number) => {
    if (!isObject(raw) || typeof raw.id !== 'string' || !/^[A-Za-z_]+$/.test(raw.id)) {
      throw new Error(`screens[${index}] has no valid id`);
    }
    if (screens.has(raw.id)) throw new Error(`screen id "${raw.id}" is used twice`);
    screens.set(raw.id, readScreen(raw.id, raw));
  });
  const routingModel: Record<string, string[]> = {};
  if (isObject(json.routing_model)) {
    for (const [from, to] of Object.entries(json.routing_model)) {
      if (Array.isArray(to)) routingModel[from] = to.filter((t): t is string => typeof t === 'string');
    }
  }
  return { version, screens, routingModel };
}

function readScreen(id: string, raw: Json): ScreenInfo {
  const inputs = new Map<string, InputInfo[]>();
  const payloads: Json[] = [];
  const errorKeys = new Set<string>();

  const visit = (node: unknown, conditional: boolean): void => {
    if (Array.isArray(node)) {
      node.forEach((child) => visit(child, conditional));
      return;
    }
    if (!isObject(node)) return;
    const type = typeof node.type === 'string' ? node.type : undefined;
    if (type && VALUE_COMPONENTS.has(type) && typeof node.name === 'string') {
      const list = inputs.get(node.name) ?? [];
      list.push(readInput(node, type, conditional));
      inputs.set(node.name, list);
    }
    const errorBinding = type === 'Form' ? node['error-messages'] : node['error-message'];
    if (typeof errorBinding === 'string') {
      const key = WHOLE_DATA.exec(errorBinding)?.[1];
      if (key) errorKeys.add(key);
    }
    const inBranch = conditional || (type !== undefined && CONDITIONAL_COMPONENTS.has(type));
    for (const [key, value] of Object.entries(node)) {
      if (key === '__example__') continue;
      if (key.endsWith('-action') && isObject(value) && value.name === 'data_exchange') {
        payloads.push(isObject(value.payload) ? value.payload : {});
      }
      // If: then/else; Switch: cases. Everything else keeps the parent's state.
      const branch = inBranch && (key === 'then' || key === 'else' || key === 'cases');
      visit(value, conditional || branch);
    }
  };
  visit(raw.layout, false);

  const data: Record<string, Json> = {};
  if (isObject(raw.data)) {
    for (const [key, decl] of Object.entries(raw.data)) if (isObject(decl)) data[key] = decl;
  }
  return { id, inputs, payloads, data, errorKeys, refreshOnBack: raw.refresh_on_back === true };
}

function readInput(node: Json, component: string, conditional: boolean): InputInfo {
  const source = node['data-source'];
  return {
    name: node.name as string,
    component,
    required: node.required === true,
    conditional,
    inputType: typeof node['input-type'] === 'string' ? node['input-type'] : undefined,
    optionIds: Array.isArray(source) ? source.filter(isObject).map((o) => String(o.id)) : undefined,
    mode: typeof node.mode === 'string' ? node.mode : undefined,
  };
}
