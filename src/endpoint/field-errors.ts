import type { ErrorObject } from '../validation';

/**
 * Turns schema errors on a payload into one short message per form field — short because Meta caps
 * TextInput error text at 30 characters (src/protocol/NOTES.md, "Flow JSON facts"). Messages never echo the value.
 */
export function fieldErrorsFrom(
  errors: readonly ErrorObject[],
  fieldOfKey: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    // The "left empty" branch of an optional field's anyOf says nothing useful; its sibling does.
    if (e.keyword === 'anyOf' || (e.keyword === 'maxLength' && (e.params as { limit?: number }).limit === 0)) continue;
    const key =
      e.keyword === 'required'
        ? String((e.params as { missingProperty?: string }).missingProperty ?? '')
        : e.keyword === 'additionalProperties'
          ? ''
          : (e.instancePath.split('/')[1] ?? '');
    if (!key) continue;
    const field = fieldOfKey[key] ?? key;
    out[field] ??= messageFor(e);
  }
  return out;
}

function messageFor(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'This field is required';
    case 'maxLength':
      return `At most ${String(p.limit)} characters`;
    case 'minLength':
      return p.limit === 1 ? 'This field is required' : `At least ${String(p.limit)} characters`;
    case 'format':
      return p.format === 'email'
        ? 'Enter a valid email'
        : p.format === 'date'
          ? 'Enter a valid date'
          : 'Invalid format';
    case 'pattern':
      return 'Invalid format';
    case 'enum':
    case 'const':
      return 'Choose one of the options';
    case 'minItems':
      return `Choose at least ${String(p.limit)}`;
    case 'maxItems':
      return `Choose at most ${String(p.limit)}`;
    default:
      return 'Invalid value';
  }
}
