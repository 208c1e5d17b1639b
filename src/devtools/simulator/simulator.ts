import type { KeyObject } from 'node:crypto';
import type { RegisteredFlow } from '../../endpoint';
import { routeAllowed } from '../../endpoint/screen-runner';
import type { ErrorObject } from '../../validation';
import { DevtoolError } from '../errors';
import { buildScreenView, emptyValue, renderScreen, resolveBindings, type ScreenView } from './screen-view';
import { MAX_RESPONSE_BYTES } from '../../endpoint/data-api';
import type { PickerFiles } from './picker-files';
import { BadReplyError, openReply, postSealed, preview, sealRequest, signFlowToken } from './wire';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A reply that breaks the Flow JSON contract: where (screen, field) and which rule. */
export interface Mismatch {
  readonly step: string;
  readonly screen?: string;
  readonly field?: string;
  readonly rule: string;
  readonly message: string;
}

export function formatMismatch(m: Mismatch): string {
  const where = [m.screen ? `screen ${m.screen}` : undefined, m.field ? `field ${m.field}` : undefined]
    .filter(Boolean)
    .join(', ');
  return `✗ ${m.step}: ${where ? `${where}: ` : ''}${m.rule}: ${m.message}`;
}

/** What a driver (script or person) wants checked about the reply to its interaction. */
export interface Expectation {
  readonly screen?: string;
  /** Partial match: listed keys must be equal (`{"$match": "regex"}` for strings, `{"$exists": true}`). */
  readonly data?: Json;
  /** false: no `error_message` (the default in scripts); true: any; a string: contained in it. */
  readonly error?: boolean | string;
  /** On completion: partial match of `extension_message_response.params`. */
  readonly params?: Json;
}

export type Interaction =
  | { readonly kind: 'press'; readonly action?: string; readonly inputs: Json; readonly expect?: Expectation }
  | { readonly kind: 'back'; readonly expect?: Expectation }
  | { readonly kind: 'end' };

export interface CurrentScreen {
  readonly id: string;
  readonly data: Json;
  readonly form: Json;
}

export interface Driver {
  /** Strict drivers (scripts) fail on any unexpected `error_message` and stop at the first mismatch. */
  readonly strict: boolean;
  readonly initExpect?: Expectation;
  interact(view: ScreenView, current: CurrentScreen, flowVersion: string): Promise<Interaction>;
}

export interface SimulatorOptions {
  readonly flow: RegisteredFlow;
  /** The endpoint: `<service>/flows/<flow-id>`. */
  readonly url: string;
  readonly publicKey: KeyObject;
  readonly appSecret: string | undefined;
  readonly token: string;
  readonly driver: Driver;
  readonly out: (line: string) => void;
  /** Send WhatsApp's health check (`ping`) first and check its answer; default true. */
  readonly ping?: boolean;
  /** Called with the payload when the flow closes on the device (`complete`): e.g. deliverCompletion. */
  readonly onDeviceComplete?: (payload: Json) => Promise<unknown>;
  /**
   * The `version` sent, as WhatsApp sends the flow's data_api_version (default: the Flow JSON's,
   * else "3.0"). With "4.0" and an app secret, requests carry `flow_token_signature`.
   */
  readonly dataApiVersion?: string;
  /** Turns `{"$files": [...]}` picker inputs into media objects served by a local CDN stand-in. */
  readonly pickerFiles?: PickerFiles;
}

export interface SimulationResult {
  readonly completed: boolean;
  readonly params: Json | undefined;
  readonly mismatches: readonly Mismatch[];
  readonly requests: number;
}

/** The simulation cannot go on: a bad reply, or a script step that does not fit the screen. */
export class SimulationError extends DevtoolError {}

interface Sent {
  readonly action: 'INIT' | 'BACK' | 'data_exchange';
  readonly from: string | undefined;
  readonly label: string;
}

/**
 * Plays the WhatsApp client against a running endpoint: INIT, then for each screen asks the
 * driver for input and an action, builds the `data_exchange` payload exactly as the Flow JSON's
 * action binds it, encrypts and signs like WhatsApp, and checks every reply against the target
 * screen's `data` declaration and the routing model. `navigate`/`complete` actions and back
 * presses on screens without `refresh_on_back` happen on the device, as on a phone.
 */
export class Simulator {
  #current: CurrentScreen | undefined;
  readonly #history: CurrentScreen[] = [];
  readonly #seen: Record<string, { data: Json; form: Json }> = {};
  readonly #mismatches: Mismatch[] = [];
  #requests = 0;
  #step = 0;

  constructor(private readonly options: SimulatorOptions) {}

  get #version(): string {
    return this.options.dataApiVersion ?? this.options.flow.model.dataApiVersion ?? '3.0';
  }

  async run(): Promise<SimulationResult> {
    const { driver, out, flow } = this.options;
    if (this.options.ping !== false) await this.#ping();
    if (driver.strict && this.#mismatches.length > 0) return this.#result(false, undefined);
    const init = await this.#send({ action: 'INIT', from: undefined, label: 'INIT' }, { screen: '', data: {} });
    const first = this.#check(init, { action: 'INIT', from: undefined, label: 'INIT' }, driver.initExpect);
    if (first.completed) return this.#result(true, first.params);
    if (driver.strict && this.#mismatches.length > 0) return this.#result(false, undefined);
    this.#enter(first.screen as string, first.data as Json);
    for (;;) {
      const current = this.#current as CurrentScreen;
      const raw = this.#rawScreen(current.id);
      const view = buildScreenView(raw.json, raw.index, this.#scope());
      renderScreen(view, current.form).forEach((l) => out(l));
      const interaction = await driver.interact(view, current, flow.model.version);
      if (interaction.kind === 'end') return this.#result(false, undefined);
      this.#step += 1;
      const outcome =
        interaction.kind === 'back' ? await this.#back(view, interaction.expect) : await this.#press(view, interaction);
      if (outcome.completed) return this.#result(true, outcome.params);
      if (driver.strict && this.#mismatches.length > 0) return this.#result(false, undefined);
    }
  }

  #result(completed: boolean, params: Json | undefined): SimulationResult {
    return { completed, params, mismatches: [...this.#mismatches], requests: this.#requests };
  }

  #rawScreen(id: string): { json: Json; index: number } {
    const screens = (this.options.flow.definition.flowJson as { screens: unknown[] }).screens;
    const index = screens.findIndex((s) => isObject(s) && s.id === id);
    return { json: screens[index] as Json, index };
  }

  #scope(form?: Json): { data: Json; form: Json; screens: Record<string, { data: Json; form: Json }> } {
    const current = this.#current as CurrentScreen;
    return { data: current.data, form: form ?? current.form, screens: this.#seen };
  }

  #enter(screen: string, data: Json, form: Json = {}): void {
    if (this.#current && this.#current.id !== screen) this.#history.push(this.#current);
    const fresh = this.#current?.id !== screen;
    // A screen shown anew starts from its `init-values` / `init-value` (bound to its data), as on a phone.
    const initial = fresh ? initialValues(this.#rawScreen(screen).json, { data, form: {}, screens: this.#seen }) : {};
    this.#current = {
      id: screen,
      data,
      form: fresh ? { ...initial, ...form } : { ...(this.#current as CurrentScreen).form, ...form },
    };
    this.#seen[screen] = { data, form: this.#current.form };
  }

  async #press(
    view: ScreenView,
    interaction: Extract<Interaction, { kind: 'press' }>,
  ): Promise<{ completed: boolean; params?: Json }> {
    const current = this.#current as CurrentScreen;
    const label = `step ${this.#step} on ${current.id}`;
    for (const name of Object.keys(interaction.inputs)) {
      if (!view.fields.some((f) => f.name === name)) {
        throw new SimulationError(
          `${label}: screen ${current.id} has no input "${name}" (inputs: ${view.fields.map((f) => f.name).join(', ') || 'none'})`,
        );
      }
    }
    const inputs: Json = { ...interaction.inputs };
    for (const field of view.fields) {
      if (!(field.name in inputs)) continue;
      if (this.options.pickerFiles)
        inputs[field.name] = await this.options.pickerFiles.resolve(field, inputs[field.name]);
      else if (isObject(inputs[field.name]) && '$files' in (inputs[field.name] as Json))
        throw new SimulationError(`${label}: input "${field.name}" gives $files, but no CDN stand-in is set up`);
    }
    const form: Json = { ...current.form, ...inputs };
    this.#current = { ...current, form };
    this.#seen[current.id] = { data: current.data, form };
    const action = this.#findAction(view, interaction.action, label);
    if (action.source === 'Footer') {
      const missing = view.fields.filter(
        (f) => f.required && f.enabled && isEmpty(form[f.name]) && payloadReads(action.payload, f.name),
      );
      if (missing.length > 0) {
        throw new SimulationError(
          `${label}: required input${missing.length > 1 ? 's' : ''} ${missing.map((f) => `"${f.name}"`).join(', ')} ` +
            `empty; WhatsApp would not send "${action.name}"`,
        );
      }
    }
    const filled: Json = Object.fromEntries(view.fields.map((f) => [f.name, form[f.name] ?? emptyValue(f.component)]));
    const payload = resolveBindings(action.payload, this.#scope(filled)) as Json;
    if (action.kind === 'navigate') {
      if (!action.next) throw new SimulationError(`${label}: navigate action at ${action.path} has no next.name`);
      this.options.out(`→ navigate to ${action.next} on the device (no request)`);
      this.#enter(action.next, payload);
      this.#checkExpectation(interaction.expect, action.next, payload, `${label} (navigate)`);
      return { completed: false };
    }
    if (action.kind === 'complete') {
      this.options.out(`→ complete on the device (no request); payload ${JSON.stringify(payload)}`);
      await this.options.onDeviceComplete?.(payload);
      return { completed: true, params: payload };
    }
    if (action.kind === 'update_data') {
      // Flow JSON ≥ 6.0: the device changes this screen's data itself; the endpoint is not called.
      this.options.out(`→ update_data on the device (no request): ${JSON.stringify(payload)}`);
      const data = { ...current.data, ...payload };
      this.#current = { id: current.id, data, form };
      this.#seen[current.id] = { data, form };
      this.#checkExpectation(interaction.expect, current.id, data, `${label} (update_data)`);
      return { completed: false };
    }
    if (action.kind === 'open_url') {
      const url = typeof action.url === 'string' ? action.url : '(no url)';
      this.options.out(`→ open_url ${url} (opens outside the flow; the walk goes on, no request)`);
      this.#checkExpectation(interaction.expect, current.id, current.data, `${label} (open_url)`);
      return { completed: false };
    }
    if (action.kind !== 'data_exchange') {
      this.options.out(`→ ${action.kind} is not simulated; nothing is sent`);
      return { completed: false };
    }
    const sent: Sent = { action: 'data_exchange', from: current.id, label: `${label}, "${action.name}"` };
    this.options.out(`→ data_exchange from ${current.id}: ${JSON.stringify(payload)}`);
    const reply = await this.#send(sent, { screen: current.id, data: payload });
    const checked = this.#check(reply, sent, interaction.expect);
    if (checked.completed) return { completed: true, params: checked.params };
    this.#enter(checked.screen as string, checked.data as Json);
    return { completed: false };
  }

  async #back(view: ScreenView, expect: Expectation | undefined): Promise<{ completed: boolean; params?: Json }> {
    const current = this.#current as CurrentScreen;
    const label = `step ${this.#step} on ${current.id}, back`;
    const previous = this.#history.pop();
    if (!previous)
      throw new SimulationError(`${label}: ${current.id} is the first screen; there is nowhere to go back to`);
    if (!view.refreshOnBack) {
      this.options.out(`← back to ${previous.id} on the device (no refresh_on_back: no request)`);
      this.#current = previous;
      this.#checkExpectation(expect, previous.id, previous.data, label);
      return { completed: false };
    }
    const sent: Sent = { action: 'BACK', from: current.id, label };
    this.options.out(`← BACK from ${current.id} (refresh_on_back)`);
    const reply = await this.#send(sent, { screen: current.id, data: {} });
    const checked = this.#check(reply, sent, expect);
    if (checked.completed) return { completed: true, params: checked.params };
    const target = checked.screen as string;
    const form = previous.id === target ? previous.form : {};
    if (previous.id !== target) this.#history.push(previous);
    this.#current = { id: target, data: checked.data as Json, form };
    this.#seen[target] = { data: checked.data as Json, form };
    return { completed: false };
  }

  #findAction(view: ScreenView, name: string | undefined, label: string) {
    const endpointish = view.actions.filter((a) => a.source === 'Footer');
    if (name === undefined) {
      if (endpointish.length === 1) return endpointish[0] as (typeof view.actions)[number];
      throw new SimulationError(
        `${label}: say which action to press (${view.actions.map((a) => `"${a.name}"`).join(', ') || 'none on this screen'})`,
      );
    }
    const action = view.actions.find((a) => a.name === name);
    if (!action) {
      throw new SimulationError(
        `${label}: no action "${name}" on ${view.id} (actions: ${view.actions.map((a) => `"${a.name}"`).join(', ') || 'none'})`,
      );
    }
    return action;
  }

  async #send(
    sent: Sent,
    body: { screen: string; data: Json },
  ): Promise<{ status: number; body: string; json?: Json }> {
    const { publicKey, appSecret, url, token } = this.options;
    const version = this.#version;
    const signature = version === '4.0' && appSecret ? signFlowToken(token, appSecret) : undefined;
    const payload = {
      version,
      action: sent.action,
      screen: body.screen,
      data: body.data,
      flow_token: token,
      ...(signature ? { flow_token_signature: signature } : {}),
    };
    const sealed = sealRequest(publicKey, payload);
    this.#requests += 1;
    const reply = await postSealed(url, sealed, appSecret);
    if (reply.status === 200) {
      const json = openLabelled(reply.body, sealed, sent.label);
      this.#checkEnvelope(reply.body, json, sent.label);
      return { status: 200, body: reply.body, json };
    }
    throw new BadReplyError(`${sent.label}: ${describeStatus(reply.status, reply.body, sealed)}`);
  }

  /** The health check WhatsApp sends before publishing and now and then (src/protocol/NOTES.md, "Health check"). */
  async #ping(): Promise<void> {
    const { publicKey, appSecret, url } = this.options;
    const label = 'ping (health check)';
    const sealed = sealRequest(publicKey, { version: this.#version, action: 'ping' });
    const reply = await postSealed(url, sealed, appSecret);
    if (reply.status !== 200) throw new BadReplyError(`${label}: ${describeStatus(reply.status, reply.body, sealed)}`);
    const json = openLabelled(reply.body, sealed, label);
    this.#checkEnvelope(reply.body, json, label);
    if (!isObject(json.data) || json.data.status !== 'active') {
      const mismatch: Mismatch = {
        step: label,
        rule: 'health check',
        message: `expected {"data":{"status":"active"}} (src/protocol/NOTES.md, "Health check"), got ${preview(JSON.stringify(json))}`,
      };
      this.#mismatches.push(mismatch);
      this.options.out(formatMismatch(mismatch));
      return;
    }
    this.options.out('✓ ping answered {"data":{"status":"active"}}');
  }

  /**
   * What any reply must satisfy whatever its screen: at most 1 MB of body (WhatsApp's data-channel
   * limit) and, when it echoes a `version`, the version of the request (src/protocol/NOTES.md).
   */
  #checkEnvelope(body: string, json: Json, label: string): void {
    const report = (m: Omit<Mismatch, 'step'>): void => {
      const mismatch = { step: label, ...m };
      this.#mismatches.push(mismatch);
      this.options.out(formatMismatch(mismatch));
    };
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > MAX_RESPONSE_BYTES) {
      report({
        rule: 'response size',
        message: `the encrypted reply is ${bytes} bytes; WhatsApp's data channel takes at most ${MAX_RESPONSE_BYTES}`,
      });
    }
    if (json.version !== undefined && json.version !== this.#version) {
      report({
        field: 'version',
        rule: 'version echo',
        message: `the reply says version ${JSON.stringify(json.version)}, the request ${JSON.stringify(this.#version)}`,
      });
    }
  }

  /** Checks a reply against the Flow JSON; returns the screen and data it shows, or the completion. */
  #check(
    reply: { json?: Json },
    sent: Sent,
    expect: Expectation | undefined,
  ): { completed: boolean; screen?: string; data?: Json; params?: Json } {
    const json = reply.json as Json;
    const { flow, token } = this.options;
    if (typeof json.screen !== 'string' || !isObject(json.data)) {
      throw new BadReplyError(
        `${sent.label}: the reply must be {"screen": "...", "data": {...}} (src/protocol/NOTES.md, "Responses"), got ${preview(JSON.stringify(json))}`,
      );
    }
    const screen = json.screen;
    const data = json.data;
    const report = (m: Omit<Mismatch, 'step'>): void => {
      const mismatch = { step: sent.label, ...m };
      this.#mismatches.push(mismatch);
      this.options.out(formatMismatch(mismatch));
    };
    if (screen === 'SUCCESS') {
      const ext = data.extension_message_response;
      const params = isObject(ext) && isObject(ext.params) ? ext.params : undefined;
      if (!params) {
        report({
          screen,
          rule: 'completion shape',
          message: 'data.extension_message_response.params is missing (§4.3)',
        });
      } else if (params.flow_token !== token) {
        report({ screen, field: 'params.flow_token', rule: 'completion shape', message: 'must echo the flow token' });
      }
      this.options.out(`✓ completed; params ${JSON.stringify(maskToken(params ?? {}))}`);
      this.#checkExpectation(expect, screen, data, sent.label, params);
      return { completed: true, params };
    }
    const target = flow.screens.get(screen);
    if (!target)
      throw new BadReplyError(`${sent.label}: the reply shows screen "${screen}", which is not in the Flow JSON`);
    if (!routeAllowed(flow, sent.action, sent.from, screen)) {
      const allowed =
        sent.action === 'INIT' || sent.from === undefined
          ? `entry screen ${flow.model.entryScreens.join(', ')}`
          : sent.action === 'BACK'
            ? `a screen routing to ${sent.from}, or ${sent.from} itself`
            : `${[...(flow.model.routingModel[sent.from] ?? []), sent.from].join(', ')}`;
      report({
        screen,
        rule: 'routing_model',
        message: `${sent.action} from ${sent.from ?? '(start)'} may not show ${screen} (allowed: ${allowed}); a phone reports invalid-screen-transition`,
      });
    }
    if (!target.validateResponse(data)) {
      for (const e of target.validateResponse.errors ?? []) {
        report({ screen, field: fieldOf(e), rule: `${e.keyword} (${e.schemaPath})`, message: e.message ?? 'invalid' });
      }
    }
    this.#checkExpectation(expect, screen, data, sent.label);
    return { completed: false, screen, data };
  }

  #checkExpectation(expect: Expectation | undefined, screen: string, data: Json, label: string, params?: Json): void {
    const strict = this.options.driver.strict;
    const report = (m: Omit<Mismatch, 'step'>): void => {
      const mismatch = { step: label, ...m };
      this.#mismatches.push(mismatch);
      this.options.out(formatMismatch(mismatch));
    };
    const errorMessage = typeof data.error_message === 'string' ? data.error_message : undefined;
    if (expect?.screen !== undefined && expect.screen !== screen) {
      report({ screen, rule: 'expected screen', message: `expected ${expect.screen}, got ${screen}` });
    }
    const wantError = expect?.error ?? (strict ? false : undefined);
    if (wantError === false && errorMessage !== undefined) {
      report({ screen, field: 'error_message', rule: 'unexpected error', message: JSON.stringify(errorMessage) });
    } else if (wantError === true && errorMessage === undefined) {
      report({ screen, field: 'error_message', rule: 'expected an error', message: 'the reply has no error_message' });
    } else if (typeof wantError === 'string' && !(errorMessage ?? '').includes(wantError)) {
      report({
        screen,
        field: 'error_message',
        rule: 'expected error text',
        message: `expected it to contain ${JSON.stringify(wantError)}, got ${JSON.stringify(errorMessage ?? null)}`,
      });
    }
    for (const [where, want, got] of [
      ['data', expect?.data, data],
      ['params', expect?.params, params ?? {}],
    ] as const) {
      if (!want) continue;
      for (const problem of partialMatch(want, got, where)) {
        report({ screen, field: problem.path, rule: 'expected value', message: problem.message });
      }
    }
  }
}

/** Opens a reply; a body WhatsApp would refuse is reported with the request it answered. */
function openLabelled(body: string, sealed: { aesKey: Buffer; iv: Buffer }, label: string): Json {
  try {
    return openReply(body, sealed.aesKey, sealed.iv);
  } catch (err) {
    if (err instanceof BadReplyError) throw new BadReplyError(`${label}: ${err.message}`);
    throw err;
  }
}

function fieldOf(e: ErrorObject): string {
  const missing = (e.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
  const extra = missing.missingProperty ?? missing.additionalProperty;
  return `${e.instancePath}${extra ? `/${extra}` : ''}` || '(data)';
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

function payloadReads(payload: unknown, field: string): boolean {
  return JSON.stringify(payload).includes(`form.${field}}`);
}

function describeStatus(status: number, body: string, sealed: { aesKey: Buffer; iv: Buffer }): string {
  let detail = body ? ` ${preview(body)}` : '';
  if (status === 427) {
    try {
      const json = openReply(body, sealed.aesKey, sealed.iv);
      detail = ` ${JSON.stringify(json)}`;
    } catch {
      // keep the raw preview
    }
    return `HTTP 427: the flow token is no longer valid (used, revoked or expired); issue a new one.${detail}`;
  }
  const hints: Record<number, string> = {
    400: 'the service refused the request as malformed',
    404: 'no such flow at this URL (check --url and the flow id)',
    421: 'the service cannot decrypt: --public-key does not match its private key (npm run keys -- check)',
    432: 'signature mismatch: --app-secret-file must hold the service META_APP_SECRET',
    500: "the service failed; its log names the cause (e.g. response_too_large: an answer over WhatsApp's 1 MB limit)",
  };
  return `HTTP ${status}${hints[status] ? ` (${hints[status]})` : ' (expected 200 with a bare base64 body)'}.${detail}`;
}

function partialMatch(want: Json, got: unknown, path: string): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (const [key, expected] of Object.entries(want)) {
    const actual = isObject(got) ? got[key] : undefined;
    const here = `${path}.${key}`;
    if (isObject(expected) && typeof expected.$match === 'string') {
      if (typeof actual !== 'string' || !new RegExp(expected.$match).test(actual)) {
        problems.push({ path: here, message: `expected to match /${expected.$match}/, got ${JSON.stringify(actual)}` });
      }
    } else if (isObject(expected) && typeof expected.$exists === 'boolean') {
      if ((actual !== undefined) !== expected.$exists) {
        problems.push({ path: here, message: expected.$exists ? 'expected to be present' : 'expected to be absent' });
      }
    } else if (isObject(expected)) {
      problems.push(...partialMatch(expected, actual, here));
    } else if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      problems.push({ path: here, message: `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}` });
    }
  }
  return problems;
}

/** The flow token is a bearer credential: show only its start. */
function maskToken(params: Json): Json {
  return typeof params.flow_token === 'string'
    ? { ...params, flow_token: `${params.flow_token.slice(0, 10)}…` }
    : params;
}

/** The form values a screen starts with: Forms' `init-values` and inputs' `init-value`, bindings resolved. */
function initialValues(rawScreen: Json | undefined, scope: Parameters<typeof resolveBindings>[1]): Json {
  const values: Json = {};
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    if (node.type === 'Form') {
      const init = resolveBindings(node['init-values'], scope);
      if (isObject(init)) Object.assign(values, init);
    }
    if (typeof node.name === 'string' && node['init-value'] !== undefined) {
      values[node.name] = resolveBindings(node['init-value'], scope);
    }
    Object.values(node).forEach(visit);
  };
  if (rawScreen) visit(rawScreen.layout);
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
