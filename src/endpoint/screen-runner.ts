import { errorSummary, type Logger } from '../logging';
import {
  HandlerContractError,
  MalformedRequestError,
  OutOfSequenceError,
  SUCCESS_SCREEN,
  isHandlerResult,
  type DecryptedRequest,
  type HandlerResult,
} from '../protocol';
import { describeErrors } from '../validation';
import { UNAVAILABLE_MEDIA, type MediaFiles } from '../media';
import type { FlowContext, Handler, ScreenRequest } from '../flow-api';
import { fieldErrorsFrom } from './field-errors';
import type { RegisteredFlow, RegisteredScreen } from './registry';
import { requiredScreens } from './session-position';
import type { SessionState } from '../storage/session-state';
import { FlowgateError } from '../errors';

export const GENERIC_ERROR_MESSAGE = 'Something went wrong on our side. Please try again.';
export const TIMEOUT_MESSAGE = 'This is taking longer than usual. Please try again.';

/** What a screen request produced: the wire JSON to encrypt, and what to remember and audit. */
export interface ScreenOutcome {
  readonly response: Record<string, unknown>;
  readonly outcome:
    | 'next_screen'
    | 'screen_error'
    | 'invalid_data'
    | 'handler_failed'
    | 'handler_timeout'
    | 'rate_limited'
    | 'completed';
  /** The screen the user sees after this response; null when the flow completed. */
  readonly screenAfter: string | null;
  readonly submission?: Record<string, unknown>;
  readonly completionParams?: Record<string, unknown>;
  readonly detail?: Record<string, unknown>;
}

/** Developer code failed and no screen can carry the error (e.g. during INIT): answered with 500. */
export class HandlerFailedError extends FlowgateError {
  constructor(
    message: string,
    readonly outcome: 'handler_failed' | 'handler_timeout',
  ) {
    super(outcome, message);
  }
}

export interface RunEnvironment {
  readonly requestId: string;
  readonly subject: string;
  readonly flowToken: string;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly afterCommit: (task: () => void | Promise<void>) => void;
  readonly afterRollback: (task: () => void | Promise<void>) => void;
  /** Builds `ctx.media` for a handler call (src/media); absent, ctx.media refuses with media_unavailable. */
  readonly media?: (
    screen: RegisteredScreen | undefined,
    data: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
  ) => MediaFiles;
}

/**
 * Runs one INIT, BACK or data_exchange request of a flow against its session state: validates the
 * screen's data, calls the developer's handler within its time budget, and turns the result into
 * a response that satisfies the Flow JSON — or into an error on the current screen when it cannot.
 * Mutates `state` (screens shown, answers given, handler values).
 */
export async function runScreenRequest(
  flow: RegisteredFlow,
  request: DecryptedRequest & { action: 'INIT' | 'BACK' | 'data_exchange' },
  state: SessionState,
  env: RunEnvironment,
): Promise<ScreenOutcome> {
  const action = request.action;
  const currentId = action === 'INIT' ? undefined : request.screen || undefined;
  const current = currentId === undefined ? undefined : flow.screens.get(currentId);
  if (currentId !== undefined && !current) {
    env.logger.warn('request names a screen the registered Flow JSON does not have; is the Flow JSON at Meta newer?', {
      flowId: flow.id,
      action,
    });
    throw new MalformedRequestError('unknown screen');
  }
  if (action === 'BACK' && !current) throw new MalformedRequestError('BACK without a screen');

  let handler: Handler | undefined;
  let data: Record<string, unknown> = {};
  if (action === 'INIT') {
    handler = flow.definition.onInit;
  } else if (action === 'BACK') {
    handler = current?.definition?.onBack;
    if (!handler) throw new MalformedRequestError('BACK from a screen without refresh_on_back');
  } else {
    const screen = current as RegisteredScreen;
    if (screen.incoming.length === 0) throw new MalformedRequestError('data_exchange from a screen that sends none');
    data = request.data ?? {};
    const invalid = validateIncoming(screen, data);
    if (invalid)
      return errorOnScreen(flow, screen, state, invalid.message, invalid.fieldErrors, undefined, 'invalid_data', env);
    state.answers[screen.model.id] = data;
    handler = screen.definition?.onDataExchange as Handler;
  }

  const outcome = await callHandler(handler, flow, action, currentId, data, state, env);
  if (outcome.kind === 'failed') {
    return failOnScreen(flow, current, state, outcome.timedOut, outcome.reason, env);
  }
  return resolveResult(flow, action, current, outcome.result, state, env);
}

function validateIncoming(
  screen: RegisteredScreen,
  data: Record<string, unknown>,
): { message: string; fieldErrors: Record<string, string> } | undefined {
  let best:
    | {
        errors: NonNullable<RegisteredScreen['incoming'][number]['validate']['errors']>;
        fieldOfKey: Record<string, string>;
        score: number;
      }
    | undefined;
  for (const candidate of screen.incoming) {
    if (candidate.validate(data)) return undefined;
    // Prefer the action whose literal values (e.g. "trigger") match: that is the one the user fired.
    const literalsMatch = Object.entries(candidate.literals).every(([k, v]) => data[k] === v);
    const errors = candidate.validate.errors ?? [];
    const score = (literalsMatch ? 0 : 1000) + errors.length;
    if (!best || score < best.score) best = { errors: [...errors], fieldOfKey: { ...candidate.fieldOfKey }, score };
  }
  const fieldErrors = best ? fieldErrorsFrom(best.errors, best.fieldOfKey) : {};
  const labels = Object.keys(fieldErrors).map((name) => screen.model.fields.get(name)?.label ?? name);
  const message = labels.length > 0 ? `Please check: ${labels.join(', ')}` : 'Please check your answers and try again.';
  return { message, fieldErrors };
}

type HandlerCall = { kind: 'ok'; result: HandlerResult } | { kind: 'failed'; timedOut: boolean; reason: string };

async function callHandler(
  handler: Handler,
  flow: RegisteredFlow,
  action: 'INIT' | 'BACK' | 'data_exchange',
  screen: string | undefined,
  data: Record<string, unknown>,
  state: SessionState,
  env: RunEnvironment,
): Promise<HandlerCall> {
  const controller = new AbortController();
  const request: ScreenRequest = deepFreeze({ flowId: flow.id, action, screen, data: structuredClone(data) });
  const context: FlowContext = Object.freeze({
    requestId: env.requestId,
    subject: env.subject,
    logger: env.logger.child({ flowId: flow.id, screen: screen ?? '(init)', requestId: env.requestId }),
    signal: controller.signal,
    session: sessionValues(state),
    answers: deepFreeze(structuredClone(state.answers)),
    afterCommit: env.afterCommit,
    afterRollback: env.afterRollback,
    media: env.media
      ? env.media(screen === undefined ? undefined : flow.screens.get(screen), data, controller.signal)
      : UNAVAILABLE_MEDIA,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('handler time budget spent'));
      resolve('timeout');
    }, env.timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(() => handler(request, context)), timeout]);
    if (result === 'timeout')
      return { kind: 'failed', timedOut: true, reason: `handler took longer than ${env.timeoutMs} ms` };
    if (!isHandlerResult(result)) {
      return { kind: 'failed', timedOut: false, reason: 'handler did not return next(), showError() or complete()' };
    }
    return { kind: 'ok', result };
  } catch (err) {
    const reason =
      err instanceof HandlerContractError ? err.message : `handler threw ${(err as Error)?.name ?? 'a value'}`;
    // Class and stack frames only: the message may quote user input (see errorSummary).
    env.logger.error('screen handler failed', {
      flowId: flow.id,
      screen: screen ?? '(init)',
      action,
      error: err instanceof HandlerContractError ? { name: err.name, message: err.message } : errorSummary(err),
    });
    return { kind: 'failed', timedOut: false, reason };
  } finally {
    clearTimeout(timer);
  }
}

function resolveResult(
  flow: RegisteredFlow,
  action: 'INIT' | 'BACK' | 'data_exchange',
  current: RegisteredScreen | undefined,
  result: HandlerResult,
  state: SessionState,
  env: RunEnvironment,
): ScreenOutcome {
  if (result.kind === 'complete') {
    // Completion requires the answers of every screen the flow cannot be completed without
    // (src/endpoint/session-position.ts, requiredScreens): a second line behind the position check.
    const missing = current ? requiredScreens(flow, current.model.id).filter((id) => !state.answers[id]) : [];
    if (current && missing.length > 0) {
      throw new OutOfSequenceError(`completion from ${current.model.id} without answers of ${missing.join(', ')}`);
    }
    const params = { ...result.params, flow_token: env.flowToken };
    return {
      response: { screen: SUCCESS_SCREEN, data: { extension_message_response: { params } } },
      outcome: 'completed',
      screenAfter: null,
      submission: result.submission ? { ...result.submission } : structuredClone(state.answers),
      completionParams: params,
    };
  }
  if (result.kind === 'error') {
    if (!current)
      return failOnScreen(
        flow,
        current,
        state,
        false,
        'showError() during INIT: there is no screen to show it on',
        env,
      );
    return errorOnScreen(flow, current, state, result.message, result.fieldErrors, result.data, 'screen_error', env);
  }
  const target = flow.screens.get(result.screen);
  if (!target)
    return failOnScreen(flow, current, state, false, `next('${result.screen}'): no such screen in the Flow JSON`, env);
  if (!routeAllowed(flow, action, current?.model.id, target.model.id)) {
    const from = current?.model.id ?? '(INIT)';
    return failOnScreen(
      flow,
      current,
      state,
      false,
      `next('${target.model.id}') from ${from} is not allowed by routing_model`,
      env,
    );
  }
  if (!target.validateResponse(result.data)) {
    const why = describeErrors(target.validateResponse.errors);
    return failOnScreen(
      flow,
      current,
      state,
      false,
      `data for ${target.model.id} does not match its Flow JSON declaration: ${why}`,
      env,
    );
  }
  state.screens[target.model.id] = { ...result.data };
  return {
    response: { screen: target.model.id, data: { ...result.data } },
    outcome: 'next_screen',
    screenAfter: target.model.id,
  };
}

/**
 * src/protocol/NOTES.md, "Responses" and "Flow JSON facts": INIT may open an entry screen; data_exchange may refresh the current
 * screen or follow one of its routes; BACK returns to the current screen or one that routes to it.
 */
export function routeAllowed(
  flow: RegisteredFlow,
  action: 'INIT' | 'BACK' | 'data_exchange',
  from: string | undefined,
  to: string,
): boolean {
  const routes = flow.model.routingModel;
  if (action === 'INIT' || from === undefined) return flow.model.entryScreens.includes(to);
  if (to === from) return true;
  if (action === 'BACK') return (routes[to] ?? []).includes(from);
  return (routes[from] ?? []).includes(to);
}

/** Re-shows `screen` with a snackbar message and, where the Flow JSON binds them, field errors. */
function errorOnScreen(
  flow: RegisteredFlow,
  screen: RegisteredScreen,
  state: SessionState,
  message: string,
  fieldErrors: Readonly<Record<string, string>>,
  explicitData: Readonly<Record<string, unknown>> | undefined,
  outcome: 'invalid_data' | 'screen_error',
  env: RunEnvironment,
): ScreenOutcome {
  const base = explicitData ?? state.screens[screen.model.id] ?? {};
  const data: Record<string, unknown> = { ...base, error_message: message };
  const model = screen.model;
  if (model.formErrorMessagesDataKey && Object.keys(fieldErrors).length > 0)
    data[model.formErrorMessagesDataKey] = { ...fieldErrors };
  for (const field of model.fields.values()) {
    const text = fieldErrors[field.name];
    if (text && field.errorMessageDataKey) data[field.errorMessageDataKey] = text;
  }
  if (!screen.validateResponse(data)) {
    if (outcome === 'invalid_data' && !explicitData && !state.screens[model.id]) {
      // Invalid input from a screen this session never sent data for (no INIT before it, e.g. a
      // flow opened with flow_action "navigate", or a forged request): the screen cannot be re-shown
      // without its declared data (src/protocol/NOTES.md, "Responses"), and no developer code failed, so this is a
      // refused request (400), not a 500 logged as a handler failure. Found by the property tests.
      throw new MalformedRequestError(`invalid data from screen ${model.id}, which this session has not shown`);
    }
    const why = describeErrors(screen.validateResponse.errors);
    return failOnScreen(
      flow,
      screen,
      state,
      false,
      `error response for ${model.id} does not match its Flow JSON declaration: ${why}`,
      env,
    );
  }
  return {
    response: { screen: model.id, data },
    outcome,
    screenAfter: model.id,
    detail: { error_fields: Object.keys(fieldErrors) },
  };
}

/**
 * Developer code failed (threw, timed out, or answered something the Flow JSON forbids): logged with
 * flow and screen, and the user stays on the current screen with a generic message — WhatsApp would
 * otherwise show "Something went wrong" with no trace (issue #2). Without a screen to stay on (INIT),
 * or without data to re-show it with, it becomes a 500.
 */
function failOnScreen(
  flow: RegisteredFlow,
  screen: RegisteredScreen | undefined,
  state: SessionState,
  timedOut: boolean,
  reason: string,
  env: RunEnvironment,
): ScreenOutcome {
  const outcome = timedOut ? 'handler_timeout' : 'handler_failed';
  env.logger.error('screen handler result rejected', { flowId: flow.id, screen: screen?.model.id ?? '(init)', reason });
  if (screen) {
    const data = {
      ...(state.screens[screen.model.id] ?? {}),
      error_message: timedOut ? TIMEOUT_MESSAGE : GENERIC_ERROR_MESSAGE,
    };
    if (screen.validateResponse(data)) {
      return { response: { screen: screen.model.id, data }, outcome, screenAfter: screen.model.id, detail: { reason } };
    }
  }
  throw new HandlerFailedError(reason, outcome);
}

function sessionValues(state: SessionState): FlowContext['session'] {
  return Object.freeze({
    get: <T>(key: string): T | undefined =>
      key in state.values ? (structuredClone(state.values[key]) as T) : undefined,
    set: (key: string, value: unknown): void => {
      if (value === undefined || JSON.stringify(value) === undefined) {
        throw new HandlerContractError(`session.set('${key}'): value must be JSON-serialisable`);
      }
      state.values[key] = JSON.parse(JSON.stringify(value)) as unknown;
    },
    delete: (key: string): void => {
      delete state.values[key];
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.values(value as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
