import { pickerLimitsOf } from '../media/picker-limits';
import { INPUT_COMPONENTS, isJsonObject } from '../flow-types/components';
import type {
  DataExchangeAction,
  FieldModel,
  FlowModel,
  InputComponent,
  OpenUrlAction,
  Problem,
  ScreenBinding,
  ScreenModel,
  UpdateDataAction,
} from './types';

/** Action names of Flow JSON up to 7.3 (PROTOCOL notes: src/protocol/NOTES.md). */
export const KNOWN_ACTIONS: ReadonlySet<string> = new Set([
  'complete',
  'data_exchange',
  'navigate',
  'update_data',
  'open_url',
]);

export { INPUT_COMPONENTS };

const DATA_BINDING = /\$\{data\.([A-Za-z0-9_]+)/g;
const FORM_BINDING = /\$\{form\.([A-Za-z0-9_]+)/g;
const WHOLE_DATA_BINDING = /^\$\{data\.([A-Za-z0-9_]+)\}$/;
const SCREEN_BINDING = /\$\{screen\.([A-Za-z_]+)\.(form|data)\.([A-Za-z0-9_]+)/g;

type Json = Record<string, unknown>;

const isObject: (v: unknown) => v is Json = isJsonObject;
const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Reads a Flow JSON into a FlowModel, collecting problems instead of throwing so that `npm run
 * check` can report all of them. Only structure the endpoint relies on is read; the rest of the
 * document (text, images, styling) is Meta's to validate on upload.
 */
export function parseFlowJson(json: unknown): { model: FlowModel | undefined; problems: Problem[] } {
  const problems: Problem[] = [];
  const error = (path: string, message: string, screen?: string): void => {
    problems.push({ severity: 'error', path, message, ...(screen ? { screen } : {}) });
  };
  if (!isObject(json)) {
    error('', 'Flow JSON must be a JSON object');
    return { model: undefined, problems };
  }
  const version = typeof json.version === 'string' ? json.version : '';
  if (!/^\d+\.\d+$/.test(version)) error('/version', 'version must be a string like "6.0"');
  const dataApiVersion = typeof json.data_api_version === 'string' ? json.data_api_version : undefined;

  const routingModel: Record<string, string[]> = {};
  if (json.routing_model !== undefined) {
    if (!isObject(json.routing_model)) {
      error('/routing_model', 'routing_model must be an object of screen id → array of screen ids');
    } else {
      for (const [from, to] of Object.entries(json.routing_model)) {
        if (!Array.isArray(to) || !to.every((t) => typeof t === 'string')) {
          error(`/routing_model/${escapePointer(from)}`, 'must be an array of screen ids');
          continue;
        }
        routingModel[from] = to as string[];
      }
    }
  }

  const screens = new Map<string, ScreenModel>();
  if (!Array.isArray(json.screens) || json.screens.length === 0) {
    error('/screens', 'screens must be a non-empty array');
  } else {
    json.screens.forEach((raw: unknown, index: number) => {
      const screen = parseScreen(raw, index, version, problems);
      if (!screen) return;
      if (screens.has(screen.id)) error(`/screens/${index}/id`, `screen id "${screen.id}" is used twice`, screen.id);
      else screens.set(screen.id, screen);
    });
  }

  const targets = new Set(Object.values(routingModel).flat());
  const entryScreens = [...screens.keys()].filter((id) => !targets.has(id));
  const model: FlowModel = { version, dataApiVersion, routingModel, screens, entryScreens };
  return { model, problems };
}

function parseScreen(raw: unknown, index: number, version: string, problems: Problem[]): ScreenModel | undefined {
  const base = `/screens/${index}`;
  if (!isObject(raw)) {
    problems.push({ severity: 'error', path: base, message: 'a screen must be an object' });
    return undefined;
  }
  const id = raw.id;
  if (typeof id !== 'string' || !/^[A-Za-z_]+$/.test(id)) {
    problems.push({ severity: 'error', path: `${base}/id`, message: 'screen id must be letters and underscores' });
    return undefined;
  }
  const fields = new Map<string, FieldModel>();
  const dataExchangeActions: DataExchangeAction[] = [];
  const navigateTargets: { path: string; screen: string }[] = [];
  const dataBindings: { key: string; path: string }[] = [];
  const formBindings: { key: string; path: string }[] = [];
  const updateDataActions: UpdateDataAction[] = [];
  const openUrlActions: OpenUrlAction[] = [];
  const unknownActions: { path: string; name: string }[] = [];
  const conditionals: { type: 'If' | 'Switch'; path: string }[] = [];
  const initValues: { path: string; fields: string[] }[] = [];
  const screenBindings: ScreenBinding[] = [];
  /** Where each input sits among If/Switch branches: "<conditional path>#<branch>" from outer to inner. */
  const branchesOf = new Map<string, readonly string[]>();
  let hasFooter = false;
  let formErrorMessagesDataKey: string | undefined;

  const visit = (node: unknown, path: string, branches: readonly string[]): void => {
    if (typeof node === 'string') {
      for (const m of node.matchAll(DATA_BINDING)) dataBindings.push({ key: m[1] as string, path });
      for (const m of node.matchAll(FORM_BINDING)) formBindings.push({ key: m[1] as string, path });
      for (const m of node.matchAll(SCREEN_BINDING)) {
        screenBindings.push({ screen: m[1] as string, kind: m[2] as 'form' | 'data', key: m[3] as string, path });
      }
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((child, i) => visit(child, `${path}/${i}`, branches));
      return;
    }
    if (!isObject(node)) return;
    if (typeof node.type === 'string') {
      if (node.type === 'Footer') hasFooter = true;
      if (node.type === 'Form' && typeof node['error-messages'] === 'string') {
        formErrorMessagesDataKey = WHOLE_DATA_BINDING.exec(node['error-messages'])?.[1];
      }
      if (node.type === 'Form' && isObject(node['init-values'])) {
        initValues.push({ path: `${path}/init-values`, fields: Object.keys(node['init-values']) });
      }
      if (node.type === 'If' || node.type === 'Switch') conditionals.push({ type: node.type, path });
      if (INPUT_COMPONENTS.has(node.type) && typeof node.name === 'string') {
        const other = branchesOf.get(node.name);
        // The same name in two branches of one If/Switch is fine: only one of them is ever shown.
        if (fields.has(node.name) && !(other && exclusive(other, branches))) {
          problems.push({ severity: 'error', path, screen: id, message: `two inputs are named "${node.name}"` });
        }
        if (!fields.has(node.name)) {
          fields.set(node.name, readField(node, path, node.type as InputComponent, branches.length > 0));
          branchesOf.set(node.name, branches);
        }
      }
    }
    for (const [key, value] of Object.entries(node)) {
      const childPath = `${path}/${escapePointer(key)}`;
      if (key.endsWith('-action') && isObject(value)) {
        readAction(value, childPath);
      }
      // `__example__` values are previews for Meta's builder, not bindings.
      if (key === '__example__') continue;
      if (node.type === 'If' && (key === 'then' || key === 'else')) {
        visit(value, childPath, [...branches, `${path}#${key}`]);
      } else if (node.type === 'Switch' && key === 'cases' && isObject(value)) {
        for (const [name, children] of Object.entries(value)) {
          visit(children, `${childPath}/${escapePointer(name)}`, [...branches, `${path}#${name}`]);
        }
      } else {
        visit(value, childPath, branches);
      }
    }
  };

  const readAction = (action: Json, path: string): void => {
    if (action.name === 'data_exchange') {
      const payload = isObject(action.payload) ? action.payload : {};
      dataExchangeActions.push({ path, payload });
    } else if (action.name === 'navigate') {
      const next = isObject(action.next) ? action.next : {};
      if (typeof next.name === 'string') navigateTargets.push({ path: `${path}/next/name`, screen: next.name });
    } else if (action.name === 'update_data') {
      updateDataActions.push({ path, keys: isObject(action.payload) ? Object.keys(action.payload) : [] });
    } else if (action.name === 'open_url') {
      openUrlActions.push({ path, url: action.url });
    } else if (typeof action.name === 'string' && !KNOWN_ACTIONS.has(action.name)) {
      unknownActions.push({ path: `${path}/name`, name: action.name });
    }
  };

  visit(raw.layout, `${base}/layout`, []);
  const dataDeclaration: Record<string, Record<string, unknown>> = {};
  if (raw.data !== undefined) {
    if (!isObject(raw.data)) {
      problems.push({ severity: 'error', path: `${base}/data`, screen: id, message: 'data must be an object' });
    } else {
      for (const [key, decl] of Object.entries(raw.data)) {
        if (isObject(decl)) dataDeclaration[key] = decl;
        else
          problems.push({
            severity: 'error',
            path: `${base}/data/${escapePointer(key)}`,
            screen: id,
            message: 'a data property must be an object with a type',
          });
      }
    }
  }
  const sensitive = Array.isArray(raw.sensitive) ? raw.sensitive.filter((s): s is string => typeof s === 'string') : [];
  if (sensitive.length > 0 && compareVersions(version, '5.1') < 0) {
    problems.push({
      severity: 'warning',
      path: `${base}/sensitive`,
      screen: id,
      message: '"sensitive" needs Flow JSON 5.1 or later',
    });
  }
  return {
    id,
    index,
    title: typeof raw.title === 'string' ? raw.title : undefined,
    terminal: raw.terminal === true,
    success: raw.terminal === true ? raw.success !== false : false,
    refreshOnBack: raw.refresh_on_back === true,
    dataDeclaration,
    sensitive,
    fields,
    dataExchangeActions,
    navigateTargets,
    updateDataActions,
    openUrlActions,
    unknownActions,
    conditionals,
    initValues,
    screenBindings,
    hasFooter,
    formErrorMessagesDataKey,
    dataBindings,
    formBindings,
  };
}

/** Two branch paths are exclusive when they part ways inside the same If/Switch. */
function exclusive(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const [ca] = (a[i] as string).split('#');
    const [cb] = (b[i] as string).split('#');
    return ca === cb;
  }
  return false;
}

function readField(node: Json, path: string, component: InputComponent, conditional: boolean): FieldModel {
  const num = (key: string): number | undefined => (typeof node[key] === 'number' ? (node[key] as number) : undefined);
  const str = (key: string): string | undefined => (typeof node[key] === 'string' ? (node[key] as string) : undefined);
  const source = node['data-source'];
  const optionIds = Array.isArray(source) ? source.filter(isObject).map((o) => String(o.id)) : undefined;
  const optionsDataKey = typeof source === 'string' ? WHOLE_DATA_BINDING.exec(source)?.[1] : undefined;
  const errorMessage = str('error-message');
  return {
    name: node.name as string,
    component,
    path,
    label: str('label'),
    required: typeof node.required === 'boolean' ? node.required : undefined,
    inputType: str('input-type'),
    minChars: num('min-chars'),
    maxChars: num('max-chars') ?? num('max-length'),
    pattern: str('pattern'),
    minSelected: num('min-selected-items'),
    maxSelected: num('max-selected-items'),
    optionIds,
    optionsDataKey,
    mode: str('mode'),
    errorMessageDataKey: errorMessage ? WHOLE_DATA_BINDING.exec(errorMessage)?.[1] : undefined,
    conditional,
    ...(component === 'PhotoPicker' || component === 'DocumentPicker'
      ? { picker: pickerLimitsOf(node, component) }
      : {}),
  };
}

/** Compares "major.minor" version strings numerically ("6.10" > "6.9"). */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}
