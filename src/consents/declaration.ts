import type { FlowModel } from '../flow-json';

/**
 * An OptIn of the flow that records a consent. When a submission completes, flowgate writes a
 * consent record (granted when the box was ticked, declined when it was not) with the purpose and
 * the policy version the person saw, in the same transaction as the submission.
 *
 * @example
 * consents: [{
 *   field: 'consent', // the OptIn's "name"
 *   purpose: 'appointment-records',
 *   policyUrl: 'https://clinic.example/privacy',
 *   policyVersion: '2026-01', // or 'sha256:<hex of the policy text>'
 * }]
 */
export interface ConsentDeclaration {
  /** The OptIn's `name` in the Flow JSON. Its screen must send it in a `data_exchange` payload. */
  readonly field: string;
  /** What the consent is for: a stable id, the same across flows (`a-z`, `0-9`, `.`, `_`, `:`, `-`). */
  readonly purpose: string;
  /** Where the policy text the person agreed to is published (https). */
  readonly policyUrl: string;
  /** Which text: a version label or a hash of it (`sha256:…`); change it whenever the text changes. */
  readonly policyVersion: string;
  /** The screen of the OptIn, when its name appears on more than one screen. */
  readonly screen?: string;
}

/** A declaration checked against the Flow JSON: where the answer arrives. */
export interface RegisteredConsent {
  readonly purpose: string;
  readonly policyUrl: string;
  readonly policyVersion: string;
  readonly field: string;
  readonly screen: string;
  /** The payload key of the screen's data_exchange that carries `${form.<field>}`. */
  readonly payloadKey: string;
}

export const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,63}$/;
const POLICY_VERSION_PATTERN = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks a flow's consent declarations at boot (and in `npm run check`): each names an OptIn that
 * its screen sends to the endpoint, a well-formed purpose (once per flow), an https policy URL and
 * a printable policy version. Problems go to `report`; only sound declarations are returned.
 */
export function resolveConsents(
  declarations: readonly ConsentDeclaration[] | undefined,
  model: FlowModel,
  report: (message: string, screen?: string) => void,
): RegisteredConsent[] {
  if (declarations === undefined) return [];
  if (!Array.isArray(declarations)) {
    report('consents must be an array of { field, purpose, policyUrl, policyVersion }');
    return [];
  }
  const out: RegisteredConsent[] = [];
  const purposes = new Set<string>();
  declarations.forEach((d: ConsentDeclaration, i) => {
    const where = `consents[${i}]`;
    if (d === null || typeof d !== 'object') return report(`${where} must be an object`);
    const { field, purpose, policyUrl, policyVersion } = d;
    if (typeof purpose !== 'string' || !PURPOSE_PATTERN.test(purpose)) {
      return report(`${where}.purpose must match ${PURPOSE_PATTERN} (a stable id such as "appointment-records")`);
    }
    if (purposes.has(purpose)) return report(`${where}: purpose "${purpose}" is declared twice`);
    purposes.add(purpose);
    if (typeof policyVersion !== 'string' || !POLICY_VERSION_PATTERN.test(policyVersion)) {
      return report(
        `${where}.policyVersion must be 1 to 128 printable characters without spaces (a label or sha256:<hex>)`,
      );
    }
    if (typeof policyUrl !== 'string' || !isHttpsUrl(policyUrl)) {
      return report(`${where}.policyUrl must be an https:// URL`);
    }
    const screens = [...model.screens.values()].filter(
      (s) => s.fields.get(String(field))?.component === 'OptIn' && (d.screen === undefined || s.id === d.screen),
    );
    if (screens.length === 0) {
      return report(
        `${where}.field "${String(field)}" is no OptIn${d.screen ? ` on screen ${d.screen}` : ''} of this flow`,
      );
    }
    if (screens.length > 1) {
      return report(`${where}.field "${String(field)}" is an OptIn on several screens; say which with screen`);
    }
    const screen = screens[0];
    const ref = `\${form.${String(field)}}`;
    const payloadKey = screen.dataExchangeActions
      .flatMap((a) => Object.entries(a.payload))
      .find(([, value]) => value === ref)?.[0];
    if (payloadKey === undefined) {
      return report(
        `${where}.field "${String(field)}": the screen's data_exchange payload must send it (e.g. "${String(field)}": "${ref}"), or flowgate never sees the answer`,
        screen.id,
      );
    }
    out.push({ purpose, policyUrl, policyVersion, field: String(field), screen: screen.id, payloadKey });
  });
  return out;
}

function isHttpsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && url.hostname !== '';
  } catch {
    return false;
  }
}
