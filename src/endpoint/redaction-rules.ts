import type { RedactionRules } from '../audit';
import type { RegisteredFlow, RegisteredScreen } from './registry';

const NOTHING: ReadonlySet<string> = new Set();

/**
 * Audit rules for one screen's request data. Allowlisted values (`auditValues`) are kept only
 * once the request's data passed validation (`validated`), and a field whose options come from
 * screen data (a `data-source` bound to `${data.x}`, which the derived schema cannot enumerate)
 * only when the value is one of the option ids this session last showed (`shown`). Otherwise any
 * text a client sends to an allowlisted field would land verbatim in the append-only audit log.
 * Found by test/component/leakage.test.ts. The screen's key sets are computed at registration.
 */
export function redactionRules(
  flow: RegisteredFlow,
  screen: RegisteredScreen,
  validated: boolean,
  shown?: Readonly<Record<string, unknown>>,
): RedactionRules {
  if (!validated) {
    return {
      knownKeys: screen.knownKeys,
      sensitiveKeys: screen.sensitiveKeys,
      allowValues: NOTHING,
      fieldOfKey: screen.fieldOfKey,
      allowValue: () => false,
    };
  }
  return {
    knownKeys: screen.knownKeys,
    sensitiveKeys: screen.sensitiveKeys,
    allowValues: flow.auditValues,
    fieldOfKey: screen.fieldOfKey,
    allowValue: (field, value) => {
      const optionsKey = screen.model.fields.get(field)?.optionsDataKey;
      if (!optionsKey) return true;
      const options = shown?.[optionsKey];
      return Array.isArray(options) && options.some((o) => (o as { id?: unknown } | null)?.id === value);
    },
  };
}
