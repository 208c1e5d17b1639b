import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkFlowJson, errorBindingKeys, type FlowModel, type Problem } from '../flow-json';
import { type FlowDefinition } from '../flow-api';
import { buildRegistry, RegistrationError, type RegisteredFlow } from '../endpoint';
import { encryptedBodyBytes, MAX_RESPONSE_BYTES } from '../endpoint/data-api';
import { routeAllowed } from '../endpoint/screen-runner';
import { createLogger } from '../logging';
import { UNAVAILABLE_MEDIA } from '../media';
import { describeErrors } from '../validation';

export interface FlowDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly flowId: string | undefined;
  /** The file the problem is in, relative to the project root when possible. */
  readonly file: string;
  readonly screen?: string;
  /** JSON Pointer into the Flow JSON, or `line N` in a handler module. */
  readonly path?: string;
  readonly message: string;
}

export interface CheckFlowsOptions {
  /** Where `<flow-id>/flow.json` and the handler modules live (src/flows). */
  readonly flowsDir: string;
  readonly schemaOverridesDir: string;
  /** Paths in messages are shown relative to this folder. */
  readonly root: string;
  /** Production build: non-https URLs in a flow are errors, not warnings. */
  readonly production?: boolean;
}

/**
 * Offline validation of registered flows, everything that can be known without WhatsApp: the
 * Flow JSON rules of `checkFlowJson` (structure, routing model, bindings, `__example__`), screens
 * nobody can reach from the entry screen, the registry's boot checks (every screen handled or
 * terminal, handlers only where the Flow JSON calls the endpoint, schemas compile), what `onInit`
 * returns, and every `next('SCREEN', …)` written in the flow's handler modules against the
 * routing model.
 */
export async function checkFlows(
  definitions: readonly FlowDefinition[],
  options: CheckFlowsOptions,
): Promise<FlowDiagnostic[]> {
  const out: FlowDiagnostic[] = [];
  const seen = new Set<string>();
  for (const definition of definitions) {
    const id = String(definition.id);
    const file = flowJsonFile(id, options);
    if (seen.has(id)) out.push({ severity: 'error', flowId: id, file, message: `flow "${id}" is registered twice` });
    seen.add(id);
    const { model, problems } = checkFlowJson(definition.flowJson, { production: options.production });
    out.push(...problems.map((p) => fromProblem(p, id, file)));
    if (model) out.push(...unreachableScreens(model, id, file));
    if (!model || problems.some((p) => p.severity === 'error')) continue;
    const registered = registerOne(definition, options, file, out);
    if (!registered) continue;
    out.push(...(await checkOnInit(registered, file)));
    out.push(...checkNextCalls(registered, join(options.flowsDir, id), options.root));
  }
  return out;
}

/** Checks one Flow JSON document (e.g. exported from Meta's builder) that is not registered yet. */
export function checkFlowJsonText(
  text: string,
  file: string,
  options: { production?: boolean } = {},
): FlowDiagnostic[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return [{ severity: 'error', flowId: undefined, file, message: `not valid JSON: ${(err as Error).message}` }];
  }
  const { model, problems } = checkFlowJson(json, options);
  const out = problems.map((p) => fromProblem(p, undefined, file));
  if (model) out.push(...unreachableScreens(model, undefined, file));
  return out;
}

export function formatDiagnostic(d: FlowDiagnostic): string {
  const where = [d.path ? `${d.file} ${d.path}` : d.file, d.screen ? `screen ${d.screen}` : undefined]
    .filter(Boolean)
    .join(', ');
  return `${d.severity}: ${where}: ${d.message}`;
}

function flowJsonFile(id: string, options: CheckFlowsOptions): string {
  const file = join(options.flowsDir, id, 'flow.json');
  return existsSync(file) ? relative(options.root, file) : `flow "${id}" (Flow JSON not in ${options.flowsDir}/${id})`;
}

function fromProblem(p: Problem, flowId: string | undefined, file: string): FlowDiagnostic {
  return {
    severity: p.severity,
    flowId,
    file,
    ...(p.screen ? { screen: p.screen } : {}),
    path: p.path || '/',
    message: p.message,
  };
}

/** Screens no chain of routes leads to from an entry screen (e.g. a cycle on the side). */
function unreachableScreens(model: FlowModel, flowId: string | undefined, file: string): FlowDiagnostic[] {
  const reached = new Set(model.entryScreens);
  const queue = [...model.entryScreens];
  while (queue.length > 0) {
    const from = queue.shift() as string;
    for (const to of model.routingModel[from] ?? []) {
      if (!reached.has(to)) {
        reached.add(to);
        queue.push(to);
      }
    }
  }
  return [...model.screens.values()]
    .filter((s) => !reached.has(s.id))
    .map((s) => ({
      severity: 'error' as const,
      flowId,
      file,
      screen: s.id,
      path: `/screens/${s.index}`,
      message: `screen "${s.id}" cannot be reached from the entry screen (${model.entryScreens.join(', ') || 'none'}) through routing_model`,
    }));
}

const REGISTRY_MESSAGE = /^flow "[^"]*"(?:, screen ([A-Za-z_]+))?: (.*?)(?: \(flow\.json (\S+)\))?$/s;

function registerOne(
  definition: FlowDefinition,
  options: CheckFlowsOptions,
  file: string,
  out: FlowDiagnostic[],
): RegisteredFlow | undefined {
  const id = String(definition.id);
  try {
    return buildRegistry([definition], {
      schemaOverridesDir: options.schemaOverridesDir,
      production: options.production,
    }).get(id);
  } catch (err) {
    if (!(err instanceof RegistrationError)) throw err;
    for (const problem of err.problems) {
      const m = REGISTRY_MESSAGE.exec(problem);
      out.push({
        severity: 'error',
        flowId: id,
        file,
        ...(m?.[1] ? { screen: m[1] } : {}),
        ...(m?.[3] ? { path: m[3] } : {}),
        message: m?.[2] ?? problem,
      });
    }
    return undefined;
  }
}

/**
 * Calls `onInit` once with a stand-in context (no database, empty session) and checks what it
 * returns: an entry screen with data that satisfies that screen's declaration. A handler that
 * needs more than that (a remote system) gets a warning, not an error.
 */
async function checkOnInit(flow: RegisteredFlow, file: string): Promise<FlowDiagnostic[]> {
  const warn = (message: string): FlowDiagnostic => ({ severity: 'warning', flowId: flow.id, file, message });
  const error = (message: string, screen?: string): FlowDiagnostic => ({
    severity: 'error',
    flowId: flow.id,
    file,
    ...(screen ? { screen } : {}),
    message,
  });
  const values = new Map<string, unknown>();
  const noop = (): void => undefined;
  const logger = createLogger({ level: 'error', format: 'json', silent: true });
  let result: unknown;
  try {
    result = await Promise.race([
      Promise.resolve(
        flow.definition.onInit(Object.freeze({ flowId: flow.id, action: 'INIT', screen: undefined, data: {} }), {
          requestId: 'flowgate-check',
          subject: 'check',
          logger,
          signal: AbortSignal.timeout(2000),
          media: UNAVAILABLE_MEDIA,
          session: {
            get: <T>(key: string) => values.get(key) as T | undefined,
            set: (key, value) => void values.set(key, value),
            delete: (key) => void values.delete(key),
          },
          answers: {},
          afterCommit: noop,
          afterRollback: noop,
        }),
      ),
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 2000).unref()),
    ]);
  } catch (err) {
    return [warn(`onInit threw when called offline (${(err as Error).message}); its result is not checked`)];
  }
  if (result === 'timeout') return [warn('onInit did not answer within 2 s offline; its result is not checked')];
  const r = result as { kind?: string; screen?: string; data?: Record<string, unknown> };
  if (r?.kind === 'complete') return [];
  if (r?.kind !== 'next' || typeof r.screen !== 'string') {
    return [error('onInit must return next(<entry screen>, data) (or complete())')];
  }
  const screen = flow.screens.get(r.screen);
  if (!screen) return [error(`onInit returns next("${r.screen}"), which is not a screen of the Flow JSON`)];
  if (!routeAllowed(flow, 'INIT', undefined, r.screen)) {
    return [
      error(
        `onInit returns next("${r.screen}") but the flow's entry screen is ${flow.model.entryScreens.join(', ')}`,
        r.screen,
      ),
    ];
  }
  if (!screen.validateResponse(r.data ?? {})) {
    return [
      error(
        `onInit's data does not match the screen's data declaration: ${describeErrors(screen.validateResponse.errors)}`,
        r.screen,
      ),
    ];
  }
  const wire = JSON.stringify({ version: flow.model.dataApiVersion, screen: r.screen, data: r.data ?? {} });
  const bytes = encryptedBodyBytes(Buffer.byteLength(wire, 'utf8'));
  if (bytes > MAX_RESPONSE_BYTES) {
    return [
      error(
        `onInit's answer is ${bytes} bytes once encrypted; WhatsApp's data channel takes at most ${MAX_RESPONSE_BYTES} ` +
          '(flowgate refuses it with 500, response_too_large)',
        r.screen,
      ),
    ];
  }
  return [];
}

const DEFINE_SCREEN = /defineScreen\s*(?:<[^(]*>)?\(\s*['"]([A-Za-z_]+)['"]/g;
const NEXT_CALL = /\bnext\(\s*['"]([A-Za-z_]+)['"]/g;

/**
 * Reads the flow's handler modules for literal `next('SCREEN', …)` calls: the screen must exist,
 * and in a module defining exactly one screen it must be a route of that screen (forward, a
 * refresh of itself, or back to a screen routing to it for `onBack`).
 */
function checkNextCalls(flow: RegisteredFlow, dir: string, root: string): FlowDiagnostic[] {
  const out: FlowDiagnostic[] = [];
  for (const file of listTsFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const shown = relative(root, file);
    const defined = [...text.matchAll(DEFINE_SCREEN)].map((m) => m[1] as string);
    const owner = defined.length === 1 ? defined[0] : undefined;
    for (const m of text.matchAll(NEXT_CALL)) {
      const target = m[1] as string;
      const line = `line ${text.slice(0, m.index).split('\n').length}`;
      const keys = literalKeys(text, (m.index ?? 0) + m[0].length);
      const screen = flow.screens.get(target);
      if (keys && screen) {
        const optional = new Set(errorBindingKeys(screen.model));
        const missing = Object.keys(screen.model.dataDeclaration).filter((k) => !keys.includes(k) && !optional.has(k));
        if (missing.length > 0) {
          out.push({
            severity: 'warning',
            flowId: flow.id,
            file: shown,
            screen: target,
            path: line,
            message:
              `next("${target}", {…}) returns no ${missing.map((k) => `"${k}"`).join(', ')}, declared in ${target}'s ` +
              'data: flowgate refuses such an answer (a phone would leave the binding empty)',
          });
        }
      }
      if (!flow.model.screens.has(target)) {
        out.push({
          severity: 'error',
          flowId: flow.id,
          file: shown,
          path: line,
          message: `next("${target}"): "${target}" is not a screen of the Flow JSON`,
        });
      } else if (
        owner &&
        flow.model.screens.has(owner) &&
        !routeAllowed(flow, 'data_exchange', owner, target) &&
        !routeAllowed(flow, 'BACK', owner, target)
      ) {
        out.push({
          severity: 'error',
          flowId: flow.id,
          file: shown,
          screen: owner,
          path: line,
          message: `next("${target}") from screen ${owner}: routing_model has no route ${owner} → ${target}`,
        });
      }
    }
  }
  return out;
}

function listTsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * The top-level keys of an object literal written right after `next('S'` (at `from`), when it is
 * a plain literal: `{ a: 1, b }`. Undefined when it is anything else (a variable, a call, a spread)
 * — then the keys cannot be known without running the handler.
 */
function literalKeys(text: string, from: number): string[] | undefined {
  const open = /^\s*,\s*\{/.exec(text.slice(from));
  if (!open) return undefined;
  let depth = 0;
  let start = from + open[0].length;
  const parts: string[] = [];
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '{' || c === '(' || c === '[') depth += 1;
    else if ((c === '}' || c === ')' || c === ']') && depth > 0) depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    } else if (c === '}' && depth === 0) {
      parts.push(text.slice(start, i));
      const keys: string[] = [];
      for (const part of parts.map((p) => p.trim()).filter((p) => p !== '')) {
        if (part.startsWith('...')) return undefined;
        const key = /^(?:['"]?)([A-Za-z_$][\w$]*)(?:['"]?)\s*(?::|$)/.exec(part)?.[1];
        if (!key) return undefined;
        keys.push(key);
      }
      return keys;
    }
  }
  return undefined;
}
