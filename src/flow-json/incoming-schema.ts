import { pickerLimitsOf } from '../media/picker-limits';
import { pickerValueSchema } from '../media/media-schema';
import { compareVersions } from './parse';
import type { DataExchangeAction, FieldModel, ScreenModel } from './types';

type Schema = Record<string, unknown>;

/** The derived schema of one `data_exchange` action's payload, and which payload key holds which field. */
export interface IncomingActionSchema {
  readonly actionPath: string;
  readonly schema: Schema;
  /** payload key → form field name, so errors land on the right input. */
  readonly fieldOfKey: Readonly<Record<string, string>>;
  /** Literal payload values (e.g. `"trigger": "date_selected"`) that tell the actions apart. */
  readonly literals: Readonly<Record<string, unknown>>;
}

const WHOLE_FORM = /^\$\{form\.([A-Za-z0-9_]+)\}$/;
const WHOLE_DATA = /^\$\{data\.([A-Za-z0-9_]+)\}$/;
const ANY_BINDING = /\$\{/;

/** Meta's defaults when a TextInput/TextArea gives no limit (PROTOCOL.md §8 component table). */
const DEFAULT_MAX_CHARS: Partial<Record<FieldModel['component'], number>> = { TextInput: 80, TextArea: 600 };

/**
 * Derives, from the Flow JSON alone, a JSON Schema for each `data_exchange` payload a screen can
 * send: `${form.x}` values take the schema of input x (type, required, length, options, date
 * format), literal values must match exactly, `${data.x}` echoes are accepted as they are. The
 * payload of a request must match one of the screen's actions. A file in `schemas/flows/` can
 * replace the derived schema.
 */
export function deriveIncomingSchemas(
  screen: ScreenModel,
  flowVersion: string,
  schemaIdBase: string,
): IncomingActionSchema[] {
  return screen.dataExchangeActions.map((action, i) =>
    deriveAction(screen, action, flowVersion, `${schemaIdBase}/action-${i}`),
  );
}

function deriveAction(
  screen: ScreenModel,
  action: DataExchangeAction,
  flowVersion: string,
  id: string,
): IncomingActionSchema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  const fieldOfKey: Record<string, string> = {};
  const literals: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(action.payload)) {
    const formRef = typeof value === 'string' ? WHOLE_FORM.exec(value)?.[1] : undefined;
    const field = formRef ? screen.fields.get(formRef) : undefined;
    if (field) {
      fieldOfKey[key] = field.name;
      properties[key] = fieldSchema(field, flowVersion);
      if (field.required === true) required.push(key);
    } else if (typeof value === 'string' && (WHOLE_DATA.test(value) || formRef)) {
      properties[key] = {};
    } else if (typeof value === 'string' && ANY_BINDING.test(value)) {
      properties[key] = { type: 'string' };
    } else if (value !== null && typeof value === 'object') {
      properties[key] = Array.isArray(value) ? { type: 'array' } : { type: 'object' };
    } else {
      properties[key] = { const: value };
      literals[key] = value;
      required.push(key);
    }
  }
  const schema: Schema = {
    $id: id,
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
  return { actionPath: action.path, schema, fieldOfKey, literals };
}

function fieldSchema(field: FieldModel, flowVersion: string): Schema {
  const req = field.required === true;
  switch (field.component) {
    case 'TextInput':
    case 'TextArea':
      return textSchema(field, req);
    case 'Dropdown':
    case 'RadioButtonsGroup':
      return withOptions({ type: 'string', ...(req ? { minLength: 1 } : {}) }, field.optionIds);
    case 'CheckboxGroup':
    case 'ChipsSelector': {
      const items = withOptions({ type: 'string' }, field.optionIds);
      const minItems = Math.max(req ? 1 : 0, field.minSelected ?? 0);
      return {
        type: 'array',
        items,
        uniqueItems: true,
        ...(minItems > 0 ? { minItems } : {}),
        ...(field.maxSelected !== undefined ? { maxItems: field.maxSelected } : {}),
      };
    }
    case 'OptIn':
      return req ? { const: true } : { type: 'boolean' };
    case 'DatePicker':
      // Flow JSON < 5.0 sends a UTC timestamp in ms as a string; 5.0+ sends "YYYY-MM-DD" (PROTOCOL.md §8).
      return compareVersions(flowVersion, '5.0') >= 0
        ? optionalString({ type: 'string', format: 'date' }, req)
        : optionalString({ type: 'string', pattern: '^-?\\d{1,15}$' }, req);
    case 'CalendarPicker':
      return field.mode === 'range'
        ? {
            type: 'object',
            properties: {
              'start-date': { type: 'string', format: 'date' },
              'end-date': { type: 'string', format: 'date' },
            },
            required: ['start-date', 'end-date'],
          }
        : optionalString({ type: 'string', format: 'date' }, req);
    case 'PhotoPicker':
    case 'DocumentPicker':
      // Strict media objects and the picker's own file counts (src/media/media-schema.ts).
      return pickerValueSchema(field.picker ?? pickerLimitsOf({}, field.component), req);
  }
}

function textSchema(field: FieldModel, required: boolean): Schema {
  const maxLength = field.maxChars ?? DEFAULT_MAX_CHARS[field.component];
  // Values may arrive as strings or, for number inputs, possibly as numbers (PROTOCOL.md §8: UNCONFIRMED).
  if (field.inputType === 'number') {
    const numeric = { type: 'string', pattern: '^-?\\d+([.,]\\d+)?$' };
    return { anyOf: [optionalString(numeric, required), { type: 'number' }] };
  }
  const base: Schema = { type: 'string', ...(maxLength !== undefined ? { maxLength } : {}) };
  const rules: Schema = {};
  if (field.minChars !== undefined) rules.minLength = field.minChars;
  if (field.inputType === 'email') rules.format = 'email';
  if (field.pattern !== undefined && isUsableRegex(field.pattern)) rules.pattern = field.pattern;
  if (Object.keys(rules).length === 0) return required ? { ...base, minLength: 1 } : base;
  // An optional field left empty is fine; when filled, its rules apply.
  return required
    ? { ...base, ...rules, minLength: Math.max(1, field.minChars ?? 1) }
    : {
        ...base,
        anyOf: [
          { type: 'string', maxLength: 0 },
          { type: 'string', ...rules },
        ],
      };
}

function optionalString(schema: Schema, required: boolean): Schema {
  return required ? schema : { anyOf: [{ type: 'string', maxLength: 0 }, schema] };
}

function withOptions(schema: Schema, ids: readonly string[] | undefined): Schema {
  return ids && ids.length > 0 ? { ...schema, enum: [...ids] } : schema;
}

function isUsableRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}
