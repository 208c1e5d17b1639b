import type { ScreenModel } from './types';

type Schema = Record<string, unknown>;

/** JSON Schema keywords a Flow JSON data declaration may use; Meta's `__example__` is dropped. */
const KEPT_KEYWORDS = new Set([
  'type',
  'items',
  'properties',
  'required',
  'enum',
  'const',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'description',
]);

/**
 * The schema a response's `data` must satisfy to show this screen (src/protocol/NOTES.md, "Responses": otherwise the
 * client reports `payload-schema-error`). Every declared property is required — a missing one
 * leaves a `${data.x}` binding empty — except the keys that only carry error messages; undeclared
 * keys are refused, except `error_message`, which the client shows as a snackbar (§4.2).
 */
export function responseSchemaFor(screen: ScreenModel, id: string): Schema {
  const properties: Record<string, Schema> = {};
  for (const [key, decl] of Object.entries(screen.dataDeclaration)) properties[key] = declarationToSchema(decl);
  const optional = new Set(errorBindingKeys(screen));
  properties.error_message = { type: 'string', minLength: 1, maxLength: 4096 };
  return {
    $id: id,
    type: 'object',
    properties,
    required: Object.keys(screen.dataDeclaration).filter((k) => !optional.has(k)),
    additionalProperties: false,
  };
}

/** Data keys the Flow JSON binds to error messages: a Form's `error-messages`, components' `error-message`. */
export function errorBindingKeys(screen: ScreenModel): string[] {
  const keys = [...screen.fields.values()].map((f) => f.errorMessageDataKey).filter((k): k is string => !!k);
  if (screen.formErrorMessagesDataKey) keys.push(screen.formErrorMessagesDataKey);
  return keys;
}

/** A data declaration as a JSON Schema (also what a `${data.x}` echo in a payload must match). */
export function declarationToSchema(decl: Record<string, unknown>): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(decl)) {
    if (!KEPT_KEYWORDS.has(key)) continue;
    if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) {
      out.items = declarationToSchema(value as Record<string, unknown>);
    } else if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Record<string, unknown>>).map(([k, v]) => [k, declarationToSchema(v)]),
      );
    } else {
      out[key] = value;
    }
  }
  return out;
}
