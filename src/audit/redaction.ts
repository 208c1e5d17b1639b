import { safeText } from '../logging';
export const REDACTED = '[redacted]';
export const SENSITIVE = '[sensitive]';

const MAX_ALLOWED_VALUE = 100;

export interface RedactionRules {
  /** Payload keys the screen's schema knows; other keys are only counted (their names are input too). */
  readonly knownKeys: ReadonlySet<string>;
  /** Payload keys holding `sensitive` fields: never kept. */
  readonly sensitiveKeys: ReadonlySet<string>;
  /** Field names whose values the flow allowlisted for the audit log. */
  readonly allowValues: ReadonlySet<string>;
  /** payload key → form field name */
  readonly fieldOfKey: Readonly<Record<string, string>>;
  /** Optional per-value check for allowlisted fields (e.g. the value must be a shown option id). */
  readonly allowValue?: (field: string, value: unknown) => boolean;
}

/**
 * The audit view of submitted data: every known field name, with its value replaced — by
 * `[sensitive]` for fields the Flow JSON marks sensitive, by the value itself only where the flow
 * allowlisted it (scalars, truncated), else by `[redacted]`.
 */
export function redactFields(
  data: Readonly<Record<string, unknown>> | undefined,
  rules: RedactionRules,
): Record<string, string> | undefined {
  if (!data) return undefined;
  const out: Record<string, string> = {};
  let unknown = 0;
  for (const [key, value] of Object.entries(data)) {
    if (!rules.knownKeys.has(key)) {
      unknown++;
      continue;
    }
    const field = rules.fieldOfKey[key] ?? key;
    if (rules.sensitiveKeys.has(key) || rules.sensitiveKeys.has(field)) out[key] = SENSITIVE;
    else if (
      (rules.allowValues.has(field) || rules.allowValues.has(key)) &&
      isScalar(value) &&
      (rules.allowValue?.(field, value) ?? true)
    ) {
      // Control and bidi characters never reach the log (terminals and spreadsheets read them too).
      out[key] = safeText(String(value)).slice(0, MAX_ALLOWED_VALUE);
    } else out[key] = REDACTED;
  }
  if (unknown > 0) out['(unknown fields)'] = String(unknown);
  return out;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
