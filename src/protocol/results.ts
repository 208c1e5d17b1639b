import { FlowgateError } from '../errors';

/**
 * What a screen handler returns. Handlers never build wire JSON themselves: they pick one of three
 * outcomes through the builders below, and the dispatcher turns it into a response that is checked
 * against the Flow JSON before it leaves.
 */

/**
 * Show `screen` with `data` (which must satisfy that screen's `data` declaration). Built by {@link next}.
 *
 * @typeParam S - The screen id, as a literal type: a typed flow's handler may only return the
 *   screens its routing model allows (see src/flow-api/typed-api.ts).
 */
export interface NextScreenResult<S extends string = string> {
  readonly kind: 'next';
  readonly screen: S;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * Stay on the current screen with a snackbar message and, where the Flow JSON binds them, field
 * errors. Built by {@link showError}.
 *
 * @typeParam D - The type of `data`: a typed flow's handler may only return its own screen's data.
 */
export interface ShowErrorResult<D = Readonly<Record<string, unknown>>> {
  readonly kind: 'error';
  readonly message: string;
  readonly fieldErrors: Readonly<Record<string, string>>;
  /** Screen data to show; defaults to the data last sent for this screen. */
  readonly data: Readonly<D> | undefined;
}

/** Flat values for the completion message; `flow_token` is flowgate's to set. */
export type CompletionParams = Readonly<Record<string, string | number | boolean>>;

/** Refuses a `flow_token` key at compile time, as {@link complete} does at run time. */
export type WithoutFlowToken = { readonly flow_token?: never };

/** Close the flow: store the submission encrypted, mark the token used, send `params` to the chat. Built by {@link complete}. */
export interface CompleteResult<P extends CompletionParams = CompletionParams> {
  readonly kind: 'complete';
  readonly params: Readonly<P>;
  /** What to store; defaults to every screen's submitted data in this session. */
  readonly submission: Readonly<Record<string, unknown>> | undefined;
}

/** Everything a handler may return. */
export type HandlerResult = NextScreenResult | ShowErrorResult | CompleteResult;

/** A builder was called in a way the protocol cannot express; a bug in the calling handler. */
export class HandlerContractError extends FlowgateError {
  constructor(message: string) {
    super('handler_contract', message);
  }
}

/**
 * Go to `screen` (or refresh the current one) with its data. Before the reply leaves, flowgate
 * checks it against the Flow JSON: `screen` must be reachable from the current screen in
 * `routing_model` (or be the current screen), and `data` must hold every property that screen
 * declares under `data`, with the declared types, and nothing else (`error_message` aside). A
 * result that breaks this becomes a generic error for the user and an error in the log, instead
 * of the `invalid-screen-transition` / `payload-schema-error` a phone would report.
 *
 * @param screen - A screen id of this flow's Flow JSON (never `SUCCESS`: use {@link complete}).
 * @param data - The screen's data: what its `${data.x}` bindings show.
 *
 * @example
 * // flow.json: DETAILS declares "data": { "slot_summary": { "type": "string", "__example__": "…" } }
 * return next('DETAILS', { slot_summary: 'Cardiology, 2026-01-05 at 10:30' });
 *
 * @example
 * // Refresh the current screen with new options (e.g. after a Dropdown's on-select data_exchange)
 * return next('APPOINTMENT', { ...appointmentData(data.date), is_time_enabled: true });
 */
export function next<S extends string>(screen: S, data: Record<string, unknown> = {}): NextScreenResult<S> {
  if (typeof screen !== 'string' || screen === '') throw new HandlerContractError('next(): screen id is required');
  if (screen === 'SUCCESS') throw new HandlerContractError('next(): use complete() to finish the flow');
  assertPlainObject(data, 'next(): data');
  return Object.freeze({ kind: 'next', screen, data });
}

/**
 * Keep the user on the current screen and show `message` in a snackbar. `fieldErrors` maps form
 * field names to messages; they appear under the fields when the Flow JSON binds `error-messages`
 * (Form) or `error-message` (component) to screen data. Keep field messages short: WhatsApp shows
 * at most 30 characters under a TextInput.
 *
 * @param message - The snackbar text (required, not empty).
 * @param options.fieldErrors - Input name → message.
 * @param options.data - The screen's data to show with the error; by default the data last sent
 *   for this screen, so the screen looks as it did.
 *
 * @example
 * // flow.json: a Form with "error-messages": "${data.field_errors}"
 * return showError('Please check the highlighted fields.', { fieldErrors: { email: 'Use a permanent address' } });
 *
 * @example
 * // New data with the error, e.g. the times that are still free
 * return showError('That time is no longer free.', { data: appointmentData(date), fieldErrors: { time: 'Pick another time' } });
 */
export function showError<D extends Record<string, unknown> = Record<string, unknown>>(
  message: string,
  options: { fieldErrors?: Record<string, string>; data?: D } = {},
): ShowErrorResult<D> {
  if (typeof message !== 'string' || message.trim() === '') {
    throw new HandlerContractError('showError(): message is required');
  }
  const fieldErrors = options.fieldErrors ?? {};
  assertPlainObject(fieldErrors, 'showError(): fieldErrors');
  for (const [field, text] of Object.entries(fieldErrors)) {
    if (typeof text !== 'string' || text === '') {
      throw new HandlerContractError(`showError(): fieldErrors.${field} must be a non-empty string`);
    }
  }
  if (options.data !== undefined) assertPlainObject(options.data, 'showError(): data');
  return Object.freeze({ kind: 'error', message, fieldErrors: Object.freeze({ ...fieldErrors }), data: options.data });
}

/**
 * Finish the flow: WhatsApp closes it and posts the completion message in the chat. `params` go to
 * that message's `response_json` (the flow token is added for you); `submission` is what gets
 * stored, encrypted — by default every screen's submitted data of this session. The flow token
 * is then used up: opening the same flow message again gets HTTP 427.
 *
 * @param options.params - Flat values for the completion webhook; no personal data unless the
 *   business needs it there (it travels through WhatsApp).
 * @param options.submission - What to store instead of the session's answers.
 *
 * @example
 * return complete({ params: { booking_ref: 'AB12CD34', date: slot.date } });
 *
 * @example
 * // Store a normalised record instead of the raw answers
 * return complete({ params: { order: orderId }, submission: { order: orderId, items } });
 */
export function complete<P extends CompletionParams = CompletionParams>(
  options: { params?: P & WithoutFlowToken; submission?: Record<string, unknown> } = {},
): CompleteResult<P> {
  const params: CompletionParams = options.params ?? {};
  assertPlainObject(params, 'complete(): params');
  if ('flow_token' in params) throw new HandlerContractError('complete(): params.flow_token is set by flowgate');
  for (const [key, value] of Object.entries(params)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new HandlerContractError(`complete(): params.${key} must be a string, number or boolean`);
    }
  }
  if (options.submission !== undefined) assertPlainObject(options.submission, 'complete(): submission');
  return Object.freeze({
    kind: 'complete',
    params: Object.freeze({ ...params }) as Readonly<P>,
    submission: options.submission,
  });
}

function assertPlainObject(value: unknown, what: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HandlerContractError(`${what} must be a plain object`);
  }
}

export function isHandlerResult(value: unknown): value is HandlerResult {
  if (value === null || typeof value !== 'object') return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'next' || kind === 'error' || kind === 'complete';
}
