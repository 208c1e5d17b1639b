import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { FlowgateError } from '../errors';

/**
 * The one AJV instance (src/ARCHITECTURE.md, rule 6): strict mode so a typo in a schema is a boot error,
 * no type coercion (a number where a string is declared is wrong, not "fixed"), all errors so a
 * screen can show every bad field at once. Schemas are compiled at boot, never per request.
 */
export const ajv = new Ajv({
  strict: true,
  strictRequired: false,
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allowUnionTypes: true,
  // Flow JSON data declarations carry Meta's `__example__`; screen schemas keep it as annotation.
  keywords: ['__example__'],
});
addFormats(ajv, ['email', 'date', 'date-time', 'uri']);

export type { ErrorObject, ValidateFunction };

export class SchemaCompileError extends FlowgateError {
  constructor(
    readonly schemaId: string,
    cause: unknown,
  ) {
    super('schema_invalid', `schema ${schemaId} does not compile: ${(cause as Error).message}`);
  }
}

/**
 * Compiles a schema under its `$id` (or `fallbackId`); a bad schema throws SchemaCompileError naming
 * the id. Compiling the same id again replaces the earlier schema (a registry rebuilt in tests).
 */
export function compileSchema<T = unknown>(schema: Record<string, unknown>, fallbackId: string): ValidateFunction<T> {
  const id = typeof schema.$id === 'string' ? schema.$id : fallbackId;
  ajv.removeSchema(id);
  try {
    return ajv.compile<T>({ ...schema, $id: id });
  } catch (err) {
    throw new SchemaCompileError(id, err);
  }
}

export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}
