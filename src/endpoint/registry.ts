import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkFlowJson,
  deriveIncomingSchemas,
  responseSchemaFor,
  type FlowModel,
  type IncomingActionSchema,
  type Problem,
  type ScreenModel,
} from '../flow-json';
import { resolveConsents, type RegisteredConsent } from '../consents/declaration';
import { compileSchema, SchemaCompileError, type ValidateFunction } from '../validation';
import { FLOW_ID_PATTERN, type FlowDefinition, type ScreenDefinition } from '../flow-api';
import { FlowgateError } from '../errors';

/** One way a screen's incoming data may look: a derived action schema or an override file. */
export interface IncomingValidator {
  readonly validate: ValidateFunction;
  readonly fieldOfKey: Readonly<Record<string, string>>;
  readonly literals: Readonly<Record<string, unknown>>;
}

export interface RegisteredScreen {
  readonly model: ScreenModel;
  readonly definition: ScreenDefinition<Record<string, unknown>> | undefined;
  /** Empty when the screen sends no data_exchange. */
  readonly incoming: readonly IncomingValidator[];
  readonly validateResponse: ValidateFunction;
  /** Payload keys holding `sensitive` fields: their values never reach the audit log. */
  readonly sensitiveKeys: ReadonlySet<string>;
  /** Payload keys any of the incoming schemas knows (audit redaction counts the others, unnamed). */
  readonly knownKeys: ReadonlySet<string>;
  /** Payload key → form field, over all incoming schemas (audit redaction). */
  readonly fieldOfKey: Readonly<Record<string, string>>;
}

export interface RegisteredFlow {
  readonly id: string;
  readonly definition: FlowDefinition;
  readonly model: FlowModel;
  readonly screens: ReadonlyMap<string, RegisteredScreen>;
  readonly auditValues: ReadonlySet<string>;
  readonly warnings: readonly Problem[];
  /** Declared consents, checked against the Flow JSON (src/consents/declaration.ts). */
  readonly consents: readonly RegisteredConsent[];
}

export type Registry = ReadonlyMap<string, RegisteredFlow>;

/** A flow that cannot be served; the message lists every problem with flow, screen and path. */
export class RegistrationError extends FlowgateError {
  constructor(readonly problems: readonly string[]) {
    super('flow_registration_failed', `flow registration failed:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface RegistryOptions {
  /** Folder of schema overrides: `<dir>/<flow-id>/<SCREEN>.json`. */
  readonly schemaOverridesDir: string;
  /** Production build: a non-https URL in a Flow JSON is an error, not a warning (src/flow-json/https-only.ts). */
  readonly production?: boolean;
}

/**
 * Checks every registration against its Flow JSON and compiles every schema, at boot (src/ARCHITECTURE.md,
 * rule 4). Any problem stops the start; the result is frozen and read-only afterwards.
 */
export function buildRegistry(definitions: readonly FlowDefinition[], options: RegistryOptions): Registry {
  const problems: string[] = [];
  const registry = new Map<string, RegisteredFlow>();
  for (const definition of definitions) {
    const flow = registerFlow(definition, options, problems);
    if (!flow) continue;
    if (registry.has(flow.id)) problems.push(`flow "${flow.id}": registered twice`);
    else registry.set(flow.id, flow);
  }
  if (problems.length > 0) throw new RegistrationError(problems);
  return registry;
}

function registerFlow(
  definition: FlowDefinition,
  options: RegistryOptions,
  problems: string[],
): RegisteredFlow | undefined {
  const id = String(definition.id);
  const report = (message: string, screen?: string): void => {
    problems.push(`flow "${id}"${screen ? `, screen ${screen}` : ''}: ${message}`);
  };
  if (!FLOW_ID_PATTERN.test(id)) {
    report(`id must match ${FLOW_ID_PATTERN} (it is a URL segment and part of every flow token)`);
    return undefined;
  }
  if (typeof definition.onInit !== 'function') report('onInit handler is missing');
  const { model, problems: flowProblems } = checkFlowJson(definition.flowJson, { production: options.production });
  for (const p of flowProblems.filter((p) => p.severity === 'error'))
    report(`${p.message} (flow.json ${p.path || '/'})`, p.screen);
  if (!model || flowProblems.some((p) => p.severity === 'error')) return undefined;

  const handlers = new Map<string, ScreenDefinition<Record<string, unknown>>>();
  for (const screenDef of definition.screens as readonly ScreenDefinition<Record<string, unknown>>[]) {
    const screenId = screenDef.screen;
    if (!model.screens.has(screenId)) report('has a handler but is not a screen of the Flow JSON', screenId);
    else if (handlers.has(screenId)) report('has two handlers (duplicate defineScreen)', screenId);
    else handlers.set(screenId, screenDef);
  }

  const overrides = readOverrides(join(options.schemaOverridesDir, id), model, report);
  const screens = new Map<string, RegisteredScreen>();
  for (const screen of model.screens.values()) {
    const handler = handlers.get(screen.id);
    checkHandlerCoverage(screen, handler, report);
    try {
      screens.set(screen.id, registerScreen(id, screen, model, handler, overrides.get(screen.id)));
    } catch (err) {
      if (err instanceof SchemaCompileError) report(err.message, screen.id);
      else throw err;
    }
  }

  const auditValues = new Set(definition.auditValues ?? []);
  for (const name of auditValues) {
    const screensWithField = [...model.screens.values()].filter((s) => s.fields.has(name));
    if (screensWithField.length === 0) report(`auditValues names "${name}", which is no input of this flow`);
    for (const s of screensWithField) {
      if (s.sensitive.includes(name)) report(`auditValues names "${name}", which is marked sensitive`, s.id);
    }
  }
  const consents = resolveConsents(definition.consents, model, report);
  return {
    id,
    definition,
    model,
    screens,
    auditValues,
    warnings: flowProblems.filter((p) => p.severity === 'warning'),
    consents,
  };
}

/**
 * A screen needs `onDataExchange` exactly when its Flow JSON can send `data_exchange`, and
 * `onBack` exactly when it has `refresh_on_back`; a handler the client can never call is a bug too.
 * A non-terminal screen that can call the endpoint in neither way only navigates on the device.
 */
function checkHandlerCoverage(
  screen: ScreenModel,
  handler: ScreenDefinition<Record<string, unknown>> | undefined,
  report: (message: string, screen?: string) => void,
): void {
  const sendsData = screen.dataExchangeActions.length > 0;
  if (sendsData && !handler?.onDataExchange) {
    report(`sends data_exchange (${screen.dataExchangeActions[0]?.path}) but has no onDataExchange handler`, screen.id);
  }
  if (!sendsData && handler?.onDataExchange)
    report('has onDataExchange but its Flow JSON sends no data_exchange', screen.id);
  if (screen.refreshOnBack && !handler?.onBack) report('has refresh_on_back: true but no onBack handler', screen.id);
  if (!screen.refreshOnBack && handler?.onBack)
    report('has onBack but not refresh_on_back: true in its Flow JSON', screen.id);
  if (!screen.terminal && !handler && screen.navigateTargets.length === 0) {
    report('is not terminal, has no handler and no navigate action: the user cannot leave it', screen.id);
  }
}

function registerScreen(
  flowId: string,
  screen: ScreenModel,
  model: FlowModel,
  definition: ScreenDefinition<Record<string, unknown>> | undefined,
  override: Record<string, unknown> | undefined,
): RegisteredScreen {
  const idBase = `flowgate:flows/${flowId}/${screen.id}`;
  let incoming: IncomingValidator[];
  if (override) {
    incoming = [
      { validate: compileSchema(override, `${idBase}/override`), fieldOfKey: identityFields(screen), literals: {} },
    ];
  } else {
    incoming = deriveIncomingSchemas(screen, model.version, `${idBase}/incoming`, model).map(
      (s: IncomingActionSchema) => ({
        validate: compileSchema(s.schema, String(s.schema.$id)),
        fieldOfKey: s.fieldOfKey,
        literals: s.literals,
      }),
    );
  }
  const validateResponse = compileSchema(responseSchemaFor(screen, `${idBase}/response`), `${idBase}/response`);
  const sensitiveKeys = new Set<string>();
  for (const action of screen.dataExchangeActions) {
    for (const [key, value] of Object.entries(action.payload)) {
      const ref = typeof value === 'string' ? /^\$\{form\.([A-Za-z0-9_]+)\}$/.exec(value)?.[1] : undefined;
      if (ref && screen.sensitive.includes(ref)) sensitiveKeys.add(key);
      // `${screen.S.form.x}` (Flow JSON 4.0+) carries S's input: sensitive when S marks it so.
      const global =
        typeof value === 'string' ? /^\$\{screen\.([A-Za-z_]+)\.form\.([A-Za-z0-9_]+)\}$/.exec(value) : null;
      if (global && model.screens.get(global[1] as string)?.sensitive.includes(global[2] as string))
        sensitiveKeys.add(key);
    }
  }
  screen.sensitive.forEach((name) => sensitiveKeys.add(name));
  // Once here rather than twice per request: the audit redaction of every request needs them.
  const fieldOfKey: Record<string, string> = {};
  const knownKeys = new Set<string>();
  for (const validator of incoming) {
    Object.assign(fieldOfKey, validator.fieldOfKey);
    const schema = validator.validate.schema as { properties?: Record<string, unknown> };
    Object.keys(schema.properties ?? {}).forEach((k) => knownKeys.add(k));
  }
  return { model: screen, definition, incoming, validateResponse, sensitiveKeys, knownKeys, fieldOfKey };
}

function identityFields(screen: ScreenModel): Record<string, string> {
  return Object.fromEntries([...screen.fields.keys()].map((k) => [k, k]));
}

function readOverrides(
  dir: string,
  model: FlowModel,
  report: (message: string, screen?: string) => void,
): Map<string, Record<string, unknown>> {
  const overrides = new Map<string, Record<string, unknown>>();
  if (!existsSync(dir)) return overrides;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const screenId = file.slice(0, -'.json'.length);
    if (!model.screens.has(screenId)) {
      report(`schema override ${file} names no screen of the Flow JSON`);
      continue;
    }
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      overrides.set(screenId, parsed as Record<string, unknown>);
    } catch (err) {
      report(`schema override ${file} is not valid JSON (${(err as Error).message})`, screenId);
    }
  }
  return overrides;
}
