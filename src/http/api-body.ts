import { compileSchema, type ErrorObject, type ValidateFunction } from '../validation';

/**
 * Bodies of the bearer-key APIs (token API, consent API), checked against strict schemas
 * (schemas/*-api-*.json) with the project's AJV instance: an unknown field is refused, not
 * ignored — `{"ttl": 1}` would otherwise silently issue a token for the default lifetime — and so
 * are keys that name the prototype chain. Messages name the field and the rule, never echo a value
 * (a phone number, a token).
 */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A checker for one body schema; `shape` says what the body must be when it is not even an object. */
export function bodyChecker<T>(
  schema: Record<string, unknown>,
  fallbackId: string,
  shape: string,
): (body: unknown) => Checked<T> {
  const validate = compileSchema<T>(schema, fallbackId);
  return (body) => check(body, validate, shape);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function check<T>(body: unknown, validate: ValidateFunction<T>, shape: string): Checked<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: `body must be ${shape}` };
  }
  const forbidden = forbiddenKey(body);
  if (forbidden !== undefined) return { ok: false, error: `field "${forbidden}" is not allowed` };
  if (validate(body)) return { ok: true, value: body };
  return { ok: false, error: describe(validate.errors ?? [], validate.schema as { properties?: object }) };
}

/** JSON.parse keeps `__proto__` as an own key; refuse it (and its kin) at any depth. */
function forbiddenKey(value: unknown, depth = 0): string | undefined {
  if (value === null || typeof value !== 'object' || depth > 8) return undefined;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return key;
    const inner = forbiddenKey((value as Record<string, unknown>)[key], depth + 1);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function describe(errors: readonly ErrorObject[], schema: { properties?: object }): string {
  const allowed = Object.keys(schema.properties ?? {});
  const messages = errors.map((e) => {
    const field = e.instancePath.replace(/^\//, '');
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = String((e.params as { additionalProperty?: unknown }).additionalProperty);
        return `unknown field ${printable(name)} (allowed: ${allowed.join(', ')})`;
      }
      case 'required':
        return `"${String((e.params as { missingProperty?: unknown }).missingProperty)}" is required`;
      case 'minProperties':
      case 'maxProperties':
        return `give exactly one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
      case 'type':
        return `"${field}" must be ${article(String((e.params as { type?: unknown }).type))}`;
      default:
        return `"${field}" ${e.message ?? 'is invalid'}`;
    }
  });
  return [...new Set(messages)].slice(0, 5).join('; ');
}

/** A client's field name, quoted when it looks like a field name; anything else is not echoed. */
function printable(name: string): string {
  return /^[A-Za-z0-9_$.-]{1,40}$/.test(name) ? `"${name}"` : '(a field whose name is not shown)';
}

function article(type: string): string {
  return type === 'integer' ? 'a whole number' : type === 'object' ? 'an object' : `a ${type}`;
}
