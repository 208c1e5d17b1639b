import Ajv, { type ErrorObject } from 'ajv';
import { CROSS_RULES, VARIABLES, type VarDef, type VarName } from './env-spec';

type Schema = Record<string, unknown>;
/** AJV reads a custom keyword's errors from its validate function. */
type KeywordValidate = ((enabled: boolean, value: string) => boolean) & { errors?: Partial<ErrorObject>[] };

/** Fewer distinct characters than this in a 32-byte key: a placeholder or a pattern, not random bytes. */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * The AJV instance that reads the environment. It is not the request validator's
 * (src/validation/ajv.ts), which must never coerce: here every value arrives as text, and
 * coercion, defaults and all errors at once are exactly what `env-schema` asks of AJV. `verbose`
 * gives each error its schema, so the `problem` text beside a rule (src/config/env-spec.ts)
 * becomes the message.
 */
export const configAjv = new Ajv({
  strict: true,
  strictRequired: false,
  allErrors: true,
  coerceTypes: true,
  useDefaults: true,
  removeAdditional: true,
  allowUnionTypes: true,
  verbose: true,
  keywords: [
    // Annotations that word the errors (schema.ts reads them back from the failing schema).
    'problem',
    'blame',
    {
      // HMAC keys and bearer keys: at least 32 bytes, and not a placeholder like `xxxx…` or `abcabc…`.
      keyword: 'randomKey',
      type: 'string',
      schemaType: 'boolean',
      errors: true,
      validate: function randomKey(this: void, enabled: boolean, value: string): boolean {
        const message =
          Buffer.byteLength(value, 'utf8') < 32
            ? 'must be at least 32 bytes long (use e.g. `openssl rand -base64 32`)'
            : new Set(value).size < MIN_DISTINCT_CHARACTERS
              ? 'looks like a placeholder, not a random key (use e.g. `openssl rand -base64 32`)'
              : undefined;
        if (!enabled || message === undefined) return true;
        (randomKey as KeywordValidate).errors = [{ keyword: 'randomKey', message, params: {} }];
        return false;
      },
    },
  ],
});

export type Mode = 'production' | 'other';

/** The JSON Schema of one variable in one mode: its type, default and production rules. */
function variableSchema(def: VarDef, mode: Mode): Schema {
  const production = mode === 'production' ? def.production : undefined;
  const byDefault = production?.required !== undefined ? undefined : (production?.default ?? def.default);
  const extra = production?.schema;
  const base: Schema = extra
    ? {
        allOf: [
          def.type.schema,
          def.type.list ? { type: 'array', items: { type: 'string', ...extra } } : { type: 'string', ...extra },
        ],
      }
    : def.type.schema;
  if (byDefault === undefined) return base;
  // Defaults are written as in the environment and read the same way (a list is split).
  return { ...base, default: def.type.list ? splitList(byDefault) : byDefault };
}

/**
 * The schema `env-schema` validates the given variables against. Its variables sit in the first
 * branch of an `allOf` because AJV runs a schema's `allOf` before its `properties`: this way
 * defaults and coercion are in place before the rules between variables (CROSS_RULES) look at
 * them. The outer `properties` only name the variables, for the `additionalProperties: false`
 * that `env-schema` adds.
 */
export function buildSchema(names: readonly VarName[], mode: Mode, rules: boolean): Schema {
  const properties = Object.fromEntries(names.map((n) => [n, variableSchema(VARIABLES[n], mode)]));
  const required =
    mode === 'production' ? names.filter((n) => (VARIABLES[n] as VarDef).production?.required !== undefined) : [];
  const chosen = new Set<string>(names);
  const crossRules = rules
    ? CROSS_RULES.filter(
        (r) =>
          (mode === 'production' || !r.productionOnly) &&
          [r.variable, ...Object.keys(r.when), ...r.require].every((n) => chosen.has(n)),
      )
    : [];
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((n) => [n, true])),
    allOf: [
      { type: 'object', properties, required },
      ...crossRules.map((r) => ({
        if: { properties: r.when, required: Object.keys(r.when) },
        then: { required: r.require, blame: r.variable, problem: r.problem },
      })),
    ],
  };
}

export function splitList(text: string): string[] {
  return text === '' ? [] : text.split(',').map((s) => s.trim());
}

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * AJV's errors as one problem per variable, worded by the failing rule's `problem` and ending with
 * the value that was given, unless the variable is secret (a secret is never quoted).
 */
export function describeProblems(errors: readonly ErrorObject[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'additionalProperties') continue;
    const annotated = e.parentSchema as { problem?: unknown; blame?: unknown } | undefined;
    let variable: string;
    let message: string;
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      variable = typeof annotated?.blame === 'string' ? annotated.blame : missing;
      if (typeof annotated?.problem === 'string') message = annotated.problem;
      else {
        const why = (VARIABLES[missing as VarName] as VarDef | undefined)?.production?.required;
        message = `is required when NODE_ENV=production${why ? ` (${why})` : ''}`;
      }
    } else {
      variable = e.instancePath.split('/')[1] ?? '';
      message =
        e.keyword === 'randomKey'
          ? (e.message ?? 'is not a random key')
          : typeof annotated?.problem === 'string'
            ? annotated.problem
            : `is invalid (${e.message ?? e.keyword})`;
      const def = VARIABLES[variable as VarName] as VarDef | undefined;
      if (def && !def.secret && e.keyword !== 'randomKey') message += `, got ${quote(e.data)}`;
    }
    if (!problems.some((p) => p.variable === variable)) problems.push({ variable, message });
  }
  return problems;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return typeof value === 'string' ? `"${clean.length > 40 ? `${clean.slice(0, 40)}…` : clean}"` : clean;
}
