/**
 * What a screen handler returns. Handlers never build wire JSON themselves: they pick one of three
 * outcomes through the builders below, and the dispatcher turns it into a response that is checked
 * against the Flow JSON before it leaves.
 */

/** Show `screen` with `data` (which must satisfy that screen's `data` declaration). */
export interface NextScreenResult {
  readonly kind: 'next';
  readonly screen: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Stay on the current screen with a snackbar message and, where the Flow JSON binds them, field errors. */
export interface ShowErrorResult {
  readonly kind: 'error';
  readonly message: string;
  readonly fieldErrors: Readonly<Record<string, string>>;
  /** Screen data to show; defaults to the data last sent for this screen. */
  readonly data: Readonly<Record<string, unknown>> | undefined;
}

/** Close the flow: store the submission encrypted, mark the token used, send `params` to the chat. */
export interface CompleteResult {
  readonly kind: 'complete';
  readonly params: Readonly<Record<string, string | number | boolean>>;
  /** What to store; defaults to every screen's submitted data in this session. */
  readonly submission: Readonly<Record<string, unknown>> | undefined;
}

export type HandlerResult = NextScreenResult | ShowErrorResult | CompleteResult;

/** A builder was called in a way the protocol cannot express; a bug in the calling handler. */
export class HandlerContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerContractError';
  }
}

/**
 * Go to `screen` (or refresh the current one) with its data.
 *
 * @example return next('DETAILS', { selected_slot: '10:30' });
 */
export function next(screen: string, data: Record<string, unknown> = {}): NextScreenResult {
  if (typeof screen !== 'string' || screen === '') throw new HandlerContractError('next(): screen id is required');
  if (screen === 'SUCCESS') throw new HandlerContractError('next(): use complete() to finish the flow');
  assertPlainObject(data, 'next(): data');
  return Object.freeze({ kind: 'next', screen, data });
}

/**
 * Keep the user on the current screen and show `message` in a snackbar. `fieldErrors` maps form
 * field names to messages; they appear under the fields when the Flow JSON binds `error-messages`
 * (Form) or `error-message` (component) to screen data.
 *
 * @example return showError('That slot was just taken', { fieldErrors: { time: 'Pick another time' } });
 */
export function showError(
  message: string,
  options: { fieldErrors?: Record<string, string>; data?: Record<string, unknown> } = {},
): ShowErrorResult {
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
 * Finish the flow. `params` go to the completion message's `response_json` (the flow token is
 * added for you); `submission` is what gets stored, encrypted — by default every screen's
 * submitted data of this session.
 *
 * @example return complete({ params: { booking_ref: 'AB12' } });
 */
export function complete(
  options: { params?: Record<string, string | number | boolean>; submission?: Record<string, unknown> } = {},
): CompleteResult {
  const params = options.params ?? {};
  assertPlainObject(params, 'complete(): params');
  if ('flow_token' in params) throw new HandlerContractError('complete(): params.flow_token is set by flowgate');
  for (const [key, value] of Object.entries(params)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new HandlerContractError(`complete(): params.${key} must be a string, number or boolean`);
    }
  }
  if (options.submission !== undefined) assertPlainObject(options.submission, 'complete(): submission');
  return Object.freeze({ kind: 'complete', params: Object.freeze({ ...params }), submission: options.submission });
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
