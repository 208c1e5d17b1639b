import type { FlowInfo, InputInfo, ScreenInfo } from './read-flow';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

const WHOLE_FORM = /^\$\{form\.([A-Za-z0-9_]+)\}$/;
const WHOLE_DATA = /^\$\{data\.([A-Za-z0-9_]+)\}$/;
/** Flow JSON 4.0+ global references: another screen's input or data. */
const WHOLE_SCREEN = /^\$\{screen\.([A-Za-z_]+)\.(form|data)\.([A-Za-z0-9_]+)\}$/;
const ANY_BINDING = /\$\{/;

/** A property name as TypeScript accepts it in a type literal. */
export function propertyName(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}

function union(types: readonly string[]): string {
  const unique = [...new Set(types)];
  if (unique.length === 0) return 'never';
  return unique.join(' | ');
}

function objectType(members: readonly { key: string; type: string; optional: boolean }[]): string {
  if (members.length === 0) return 'Record<string, never>';
  return `{ ${members.map((m) => `readonly ${propertyName(m.key)}${m.optional ? '?' : ''}: ${m.type}`).join('; ')} }`;
}

/**
 * The TypeScript type of a value a `data` declaration (a JSON Schema subset) allows, as strict as
 * the response check: nested properties are optional unless the declaration lists them under
 * `required`; `enum`/`const` become literal types.
 */
export function declarationType(decl: unknown): string {
  if (!isObject(decl)) return 'unknown';
  if ('const' in decl) return JSON.stringify(decl.const);
  if (Array.isArray(decl.enum) && decl.enum.length > 0) return union(decl.enum.map((v) => JSON.stringify(v)));
  const types = Array.isArray(decl.type) ? decl.type : [decl.type];
  const out = types.map((type): string => {
    switch (type) {
      case 'string':
        return 'string';
      case 'number':
      case 'integer':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array':
        return `readonly ${wrapForArray(decl.items === undefined ? 'unknown' : declarationType(decl.items))}[]`;
      case 'object': {
        if (!isObject(decl.properties)) return 'Readonly<Record<string, unknown>>';
        const required = new Set(Array.isArray(decl.required) ? decl.required : []);
        return objectType(
          Object.entries(decl.properties).map(([key, sub]) => ({
            key,
            type: declarationType(sub),
            optional: !required.has(key),
          })),
        );
      }
      default:
        return 'unknown';
    }
  });
  return union(out);
}

function wrapForArray(type: string): string {
  return /^[A-Za-z0-9_<>, ]+$/.test(type) || type.startsWith('{') ? type : `(${type})`;
}

/**
 * What an input sends: the value type WhatsApp puts in the payload for this component, as Meta's
 * component reference describes it (https://developers.facebook.com/docs/whatsapp/flows/reference/components):
 * text as a string, a selection as its option id, multi-selections as arrays of ids, OptIn as a
 * boolean, dates as "YYYY-MM-DD", a CalendarPicker range as { "start-date", "end-date" }, media
 * pickers as arrays of objects. It always matches what the request check (src/flow-json/
 * incoming-schema.ts) lets through, so a handler never gets a value its type does not allow.
 */
export function inputValueType(input: InputInfo): string {
  const options =
    input.optionIds && input.optionIds.length > 0 ? union(input.optionIds.map((id) => JSON.stringify(id))) : undefined;
  switch (input.component) {
    case 'TextInput':
    case 'TextArea':
      // A number input may arrive as a string or as a number; the request check accepts both.
      return input.inputType === 'number' ? 'string | number' : 'string';
    case 'Dropdown':
    case 'RadioButtonsGroup':
      return options ?? 'string';
    case 'CheckboxGroup':
    case 'ChipsSelector':
      return `readonly ${wrapForArray(options ?? 'string')}[]`;
    case 'OptIn':
      return 'boolean';
    case 'DatePicker':
      return 'string';
    case 'CalendarPicker':
      return input.mode === 'range' ? 'DateRange' : 'string';
    case 'PhotoPicker':
    case 'DocumentPicker':
      return 'readonly MediaItem[]';
    default:
      return 'unknown';
  }
}

interface Member {
  key: string;
  type: string;
  optional: boolean;
}

/** The type of one binding's value, and whether the payload always carries it. */
function bindingMember(flow: FlowInfo, screen: ScreenInfo, key: string, value: unknown): Member {
  if (typeof value === 'string') {
    const form = WHOLE_FORM.exec(value)?.[1];
    if (form !== undefined) return inputMember(key, screen.inputs.get(form));
    const data = WHOLE_DATA.exec(value)?.[1];
    if (data !== undefined) return dataMember(key, screen, data);
    const global = WHOLE_SCREEN.exec(value);
    if (global) {
      const other = flow.screens.get(global[1]);
      if (!other) return { key, type: 'unknown', optional: true };
      return global[2] === 'form' ? inputMember(key, other.inputs.get(global[3])) : dataMember(key, other, global[3]);
    }
    // Text with bindings inside ("Hello ${form.name}") arrives as the filled-in string.
    if (ANY_BINDING.test(value)) return { key, type: 'string', optional: false };
    return { key, type: JSON.stringify(value), optional: false };
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return { key, type: JSON.stringify(value), optional: false };
  }
  if (Array.isArray(value)) return { key, type: 'readonly unknown[]', optional: false };
  if (isObject(value)) return { key, type: 'Readonly<Record<string, unknown>>', optional: false };
  return { key, type: 'unknown', optional: true };
}

function inputMember(key: string, inputs: readonly InputInfo[] | undefined): Member {
  if (!inputs || inputs.length === 0) return { key, type: 'unknown', optional: true };
  const only = inputs.length === 1 ? inputs[0] : undefined;
  return {
    key,
    type: union(inputs.map(inputValueType)),
    // Sure to be there only when one input of that name exists, outside any branch, and is required.
    optional: !(only && only.required && !only.conditional),
  };
}

function dataMember(key: string, screen: ScreenInfo, dataKey: string): Member {
  const decl = screen.data[dataKey];
  if (!decl) return { key, type: 'unknown', optional: true };
  return { key, type: declarationType(decl), optional: screen.errorKeys.has(dataKey) };
}

/** The union of what the screen's `data_exchange` actions send (`never` when it sends none). */
export function requestType(flow: FlowInfo, screen: ScreenInfo): string {
  const variants = screen.payloads.map((payload) =>
    objectType(Object.entries(payload).map(([key, value]) => bindingMember(flow, screen, key, value))),
  );
  return union(variants);
}

/** The data `next()` must send to show the screen: every declared key (error keys optional), plus `error_message`. */
export function dataType(screen: ScreenInfo): string {
  const members: Member[] = Object.entries(screen.data).map(([key, decl]) => ({
    key,
    type: declarationType(decl),
    optional: screen.errorKeys.has(key),
  }));
  if (!('error_message' in screen.data)) members.push({ key: 'error_message', type: 'string', optional: true });
  return objectType(members);
}
