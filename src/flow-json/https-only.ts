import type { Problem } from './types';

/** What the https rule needs to know: in production builds a non-https URL is an error, else a warning. */
export interface HttpsRuleOptions {
  readonly production?: boolean;
}

/** Top-level endpoint URLs some Flow JSON versions carry (`data_channel_uri` before 3.0). */
const ENDPOINT_KEYS = ['endpoint_uri', 'data_channel_uri'] as const;

/**
 * https everywhere in a flow: every literal `open_url` target (EmbeddedLink, OptIn's
 * `on-click-action`, any component's action) and `endpoint_uri` / `data_channel_uri` when present
 * must be an `https://` URL. WhatsApp calls only https endpoints with a publicly trusted
 * certificate (https://developers.facebook.com/docs/whatsapp/flows/guides/implementingyourflowendpoint),
 * and links a flow opens (open_url, Flow JSON 6.0+:
 * https://developers.facebook.com/docs/whatsapp/flows/reference/flowjson) are held to the same
 * standard: a plain-http page can be read and changed on the way, and `javascript:`/`data:` schemes
 * have no place in a flow at all. Bound values (`${data.url}`) are not known until run time and
 * are not checked here. Walks the raw JSON, so it also sees components the model does not map.
 */
export function httpsOnlyProblems(json: unknown, options: HttpsRuleOptions = {}): Problem[] {
  const severity = options.production ? 'error' : 'warning';
  const problems: Problem[] = [];
  const check = (url: unknown, path: string, what: string, screen: string | undefined): void => {
    if (typeof url !== 'string' || /^\$\{[^}]+\}$/.test(url.trim())) return;
    const reason = notHttps(url);
    if (!reason) return;
    problems.push({
      severity,
      path,
      message: `${what} must be an https:// URL (${reason})${options.production ? '' : '; an error in production'}`,
      ...(screen ? { screen } : {}),
    });
  };
  if (!isObject(json)) return problems;
  for (const key of ENDPOINT_KEYS) {
    if (key in json) check(json[key], `/${key}`, key, undefined);
  }
  const screens = Array.isArray(json.screens) ? json.screens : [];
  screens.forEach((screen, i) => {
    const id = isObject(screen) && typeof screen.id === 'string' ? screen.id : undefined;
    walk(screen, `/screens/${i}`, (node, path) => {
      if (node.name === 'open_url') check(node.url, `${path}/url`, 'open_url target', id);
    });
  });
  return problems;
}

/** Why a URL is not an acceptable https URL, or undefined when it is. */
function notHttps(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return `"${short(text)}" is not an absolute URL`;
  }
  if (url.protocol !== 'https:') return `scheme ${url.protocol.replace(/:$/, '')}: is not https`;
  if (url.hostname === '') return 'no host';
  return undefined;
}

function walk(
  node: unknown,
  path: string,
  visit: (node: Record<string, unknown>, path: string) => void,
  depth = 0,
): void {
  if (depth > 64) return; // the parser bounds real documents; this bounds a hostile one
  if (Array.isArray(node)) {
    node.forEach((child, i) => walk(child, `${path}/${i}`, visit, depth + 1));
    return;
  }
  if (!isObject(node)) return;
  visit(node, path);
  for (const [key, child] of Object.entries(node)) {
    if (child !== null && typeof child === 'object')
      walk(child, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, visit, depth + 1);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
