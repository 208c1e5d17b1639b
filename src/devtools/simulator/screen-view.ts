import { INPUT_COMPONENTS, type InputComponent } from '../../flow-json';

/**
 * What the simulator shows of a screen and lets the user do, computed from the Flow JSON's layout
 * and the screen data like the WhatsApp client does: `${data.x}` / `${form.x}` /
 * `${screen.S.data.x}` bindings resolved, invisible components left out, options from data sources.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface Option {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly enabled: boolean;
}

export interface ViewAction {
  /** How a script names it: a Footer's label, an EmbeddedLink's text, or the input name for on-select. */
  readonly name: string;
  readonly source: string;
  /** `data_exchange`, `navigate`, `complete`, `open_url`, `update_data`. */
  readonly kind: string;
  readonly payload: Json;
  readonly next: string | undefined;
  /** `open_url`'s link. */
  readonly url?: string;
  readonly path: string;
}

export interface ViewField {
  readonly name: string;
  readonly component: InputComponent;
  readonly label: string;
  readonly required: boolean;
  readonly enabled: boolean;
  readonly inputType: string | undefined;
  readonly options: readonly Option[] | undefined;
  readonly error: string | undefined;
  readonly onSelect: ViewAction | undefined;
  readonly path: string;
}

export interface ScreenView {
  readonly id: string;
  readonly title: string | undefined;
  readonly terminal: boolean;
  readonly refreshOnBack: boolean;
  /** Layout order: text lines, and `{ field }` where an input sits. */
  readonly lines: readonly (string | { readonly field: string })[];
  readonly fields: readonly ViewField[];
  readonly actions: readonly ViewAction[];
  readonly errorMessage: string | undefined;
}

/** Values a binding can read: this screen's data and form, and earlier screens' (Flow JSON ≥ 4.0). */
export interface BindingScope {
  readonly data: Readonly<Json>;
  readonly form: Readonly<Json>;
  readonly screens: Readonly<Record<string, { readonly data: Readonly<Json>; readonly form: Readonly<Json> }>>;
}

const BINDING = /\$\{(?:screen\.([A-Za-z_]+)\.)?(data|form)\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)\}/g;
const WHOLE_BINDING = new RegExp(`^${BINDING.source}$`);

function lookup(scope: BindingScope, screen: string | undefined, kind: string, path: string): unknown {
  const source = screen ? scope.screens[screen] : scope;
  let value: unknown = source ? (kind === 'data' ? source.data : source.form) : undefined;
  for (const part of path.split('.')) value = isObject(value) ? value[part] : undefined;
  return value;
}

/**
 * Resolves bindings in a value: a string that is exactly one binding takes the bound value with
 * its type (how payloads carry arrays and booleans); bindings inside longer text become text.
 */
export function resolveBindings(value: unknown, scope: BindingScope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_BINDING.exec(value);
    if (whole) return lookup(scope, whole[1], whole[2], whole[3]);
    return value.replace(BINDING, (_m, screen: string | undefined, kind: string, path: string) => {
      const v = lookup(scope, screen, kind, path);
      return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveBindings(v, scope));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveBindings(v, scope)]));
  return value;
}

const TEXTS: Record<string, string> = {
  TextHeading: '# ',
  TextSubheading: '## ',
  TextBody: '',
  TextCaption: '(small) ',
};

/** Builds the view of `rawScreen` (its Flow JSON object) for the current data and form values. */
export function buildScreenView(rawScreen: Json, index: number, scope: BindingScope): ScreenView {
  const lines: (string | { field: string })[] = [];
  const fields: ViewField[] = [];
  const actions: ViewAction[] = [];
  let formErrors: Json = {};
  const resolve = (v: unknown): unknown => resolveBindings(v, scope);
  const text = (v: unknown): string => {
    const r = resolve(v);
    return typeof r === 'string' ? r : r === undefined ? '' : JSON.stringify(r);
  };

  const readAction = (raw: unknown, source: string, name: string, path: string): ViewAction | undefined => {
    if (!isObject(raw) || typeof raw.name !== 'string') return undefined;
    const next = isObject(raw.next) && typeof raw.next.name === 'string' ? raw.next.name : undefined;
    const url = typeof raw.url === 'string' ? raw.url : undefined;
    return {
      name,
      source,
      kind: raw.name,
      payload: isObject(raw.payload) ? raw.payload : {},
      next,
      ...(url ? { url } : {}),
      path,
    };
  };

  const visit = (node: unknown, path: string): void => {
    if (!isObject(node) || typeof node.type !== 'string') return;
    if (node.visible !== undefined && resolve(node.visible) === false) return;
    const type = node.type;
    if (type === 'Form') {
      const errors = resolve(node['error-messages']);
      if (isObject(errors)) formErrors = errors;
    }
    if (type in TEXTS) {
      lines.push(`${TEXTS[type]}${text(node.text)}`);
    } else if (type === 'RichText') {
      const t = resolve(node.text);
      lines.push(...(Array.isArray(t) ? t.map(String) : [String(t ?? '')]));
    } else if (INPUT_COMPONENTS.has(type) && typeof node.name === 'string') {
      const field = readField(node, type as InputComponent, path);
      fields.push(field);
      lines.push({ field: field.name });
    } else if (type === 'Footer') {
      const label = text(node.label);
      const action = readAction(node['on-click-action'], 'Footer', label, `${path}/on-click-action`);
      if (action) actions.push(action);
      lines.push(`[ ${label} ]${node.enabled !== undefined && resolve(node.enabled) === false ? ' (disabled)' : ''}`);
    } else if (type === 'EmbeddedLink') {
      const label = text(node.text);
      const action = readAction(node['on-click-action'], 'EmbeddedLink', label, `${path}/on-click-action`);
      if (action) actions.push(action);
      lines.push(`<${label}>`);
    } else if (type === 'Image') {
      lines.push(`(image${node['alt-text'] ? `: ${text(node['alt-text'])}` : ''})`);
    } else if (type !== 'Form' && !Array.isArray(node.children) && type !== 'If' && type !== 'Switch') {
      lines.push(`(${type})`);
    }
    if (type === 'If') {
      // The client shows one branch; an expression the simulator cannot read shows both, flagged.
      const outcome = evaluateCondition(node.condition, scope);
      const shown = outcome === undefined ? ['then', 'else'] : [outcome ? 'then' : 'else'];
      if (outcome === undefined)
        lines.push(`(If ${String(node.condition)}: condition not understood, both branches shown)`);
      for (const branch of shown) {
        if (Array.isArray(node[branch])) {
          (node[branch] as unknown[]).forEach((c, i) => visit(c, `${path}/${branch}/${i}`));
        }
      }
    }
    if (type === 'Switch' && isObject(node.cases)) {
      const value = resolve(node.value);
      const key =
        typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
      const branch = node.cases[key];
      if (Array.isArray(branch)) branch.forEach((c, i) => visit(c, `${path}/cases/${key}/${i}`));
    }
    if (Array.isArray(node.children)) (node.children as unknown[]).forEach((c, i) => visit(c, `${path}/children/${i}`));
  };

  const readField = (node: Json, component: InputComponent, path: string): ViewField => {
    const name = node.name as string;
    const source = resolve(node['data-source']);
    const options = Array.isArray(source)
      ? source.filter(isObject).map((o) => ({
          id: String(o.id),
          title: String(o.title ?? o.id),
          ...(typeof o.description === 'string' ? { description: o.description } : {}),
          enabled: o.enabled !== false,
        }))
      : undefined;
    const ownError = resolve(node['error-message']);
    const onSelect = readAction(node['on-select-action'], component, name, `${path}/on-select-action`);
    if (onSelect) actions.push(onSelect);
    return {
      name,
      component,
      label: text(node.label ?? node.name),
      required: resolve(node.required) === true || (component === 'OptIn' && node.required === true),
      enabled: resolve(node.enabled) !== false,
      inputType: typeof node['input-type'] === 'string' ? node['input-type'] : undefined,
      options,
      error: typeof ownError === 'string' && ownError !== '' ? ownError : undefined,
      onSelect,
      path,
    };
  };

  const layout = isObject(rawScreen.layout) ? rawScreen.layout : {};
  if (Array.isArray(layout.children)) {
    (layout.children as unknown[]).forEach((c, i) => visit(c, `/screens/${index}/layout/children/${i}`));
  }
  const withErrors = fields.map((f) => {
    const formError = formErrors[f.name];
    return typeof formError === 'string' && formError !== '' && !f.error ? { ...f, error: formError } : f;
  });
  const errorMessage = typeof scope.data.error_message === 'string' ? scope.data.error_message : undefined;
  return {
    id: String(rawScreen.id),
    title: typeof rawScreen.title === 'string' ? text(rawScreen.title) : undefined,
    terminal: rawScreen.terminal === true,
    refreshOnBack: rawScreen.refresh_on_back === true,
    lines,
    fields: withErrors,
    actions,
    errorMessage,
  };
}

/** The empty value the client sends for an input the user left alone. */
export function emptyValue(component: InputComponent): unknown {
  switch (component) {
    case 'CheckboxGroup':
    case 'ChipsSelector':
    case 'PhotoPicker':
    case 'DocumentPicker':
      return [];
    case 'OptIn':
      return false;
    default:
      return '';
  }
}

/** The screen as text, for the terminal. */
export function renderScreen(view: ScreenView, form: Readonly<Json>): string[] {
  const out = [`┌─ ${view.id}${view.title ? ` — ${view.title}` : ''}${view.terminal ? ' (terminal)' : ''}`];
  if (view.errorMessage) out.push(`│ ! ${view.errorMessage}`);
  for (const line of view.lines) {
    if (typeof line === 'string') {
      out.push(`│ ${line}`);
      continue;
    }
    const f = view.fields.find((x) => x.name === line.field);
    if (!f) continue;
    const value = form[f.name];
    const shown = value === undefined || value === '' ? '' : ` = ${JSON.stringify(value)}`;
    out.push(
      `│ [${f.component}] ${f.label}${f.required ? ' *' : ''}${f.enabled ? '' : ' (disabled)'}` +
        `${f.inputType ? ` (${f.inputType})` : ''}${shown}`,
    );
    (f.options ?? []).forEach((o, i) =>
      out.push(`│     ${i + 1}) ${o.title}${o.id !== o.title ? ` (${o.id})` : ''}${o.enabled ? '' : ' (disabled)'}`),
    );
    if (f.error) out.push(`│     ⚠ ${f.error}`);
  }
  out.push('└─');
  return out;
}

/**
 * Reads an `If` condition as the client would, for what flows commonly write: a binding (truthy),
 * `!binding`, comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) of bindings and literals, joined by
 * `&&` / `||`, with parentheses. Undefined when it cannot be read (the caller shows both branches).
 */
export function evaluateCondition(condition: unknown, scope: BindingScope): boolean | undefined {
  if (typeof condition === 'boolean') return condition;
  if (typeof condition !== 'string') return undefined;
  const tokens = condition.match(
    /\$\{[^}]+\}|'[^']*'|"[^"]*"|&&|\|\||==|!=|<=|>=|[<>()!]|-?\d+(?:\.\d+)?|true|false|\S+/g,
  );
  if (!tokens) return undefined;
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const value = (token: string | undefined): unknown => {
    if (token === undefined) throw new Error('end');
    if (token.startsWith('${')) return resolveBindings(token, scope);
    if (/^['"]/.test(token)) return token.slice(1, -1);
    if (token === 'true' || token === 'false') return token === 'true';
    if (/^-?\d/.test(token)) return Number(token);
    throw new Error(`token ${token}`);
  };
  const primary = (): unknown => {
    const token = tokens[i++];
    if (token === '!') return !truthy(primary());
    if (token === '(') {
      const inner = or();
      if (tokens[i++] !== ')') throw new Error(')');
      return inner;
    }
    return value(token);
  };
  const comparison = (): unknown => {
    const left = primary();
    const op = peek();
    if (op && ['==', '!=', '<', '<=', '>', '>='].includes(op)) {
      i += 1;
      const right = primary();
      switch (op) {
        case '==':
          return left === right;
        case '!=':
          return left !== right;
        case '<':
          return Number(left) < Number(right);
        case '<=':
          return Number(left) <= Number(right);
        case '>':
          return Number(left) > Number(right);
        default:
          return Number(left) >= Number(right);
      }
    }
    return left;
  };
  const and = (): unknown => {
    let left = comparison();
    while (peek() === '&&') {
      i += 1;
      const right = comparison();
      left = truthy(left) && truthy(right);
    }
    return left;
  };
  const or = (): unknown => {
    let left = and();
    while (peek() === '||') {
      i += 1;
      const right = and();
      left = truthy(left) || truthy(right);
    }
    return left;
  };
  try {
    const result = or();
    return i === tokens.length ? truthy(result) : undefined;
  } catch {
    return undefined;
  }
}

function truthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0));
}
