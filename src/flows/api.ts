import type { HandlerResult } from '../protocol';
import type { Logger } from '../logging';

/**
 * The request a screen handler sees: decrypted, validated against the screen's schema, and frozen.
 * Ping, error notifications and flow-token checks never reach handler code.
 */
export interface ScreenRequest<TData = Record<string, unknown>> {
  readonly flowId: string;
  readonly action: 'INIT' | 'BACK' | 'data_exchange';
  /** The screen the user is on (for BACK: the screen where back was pressed); undefined for INIT. */
  readonly screen: string | undefined;
  readonly data: Readonly<TData>;
}

/** Small per-session key/value memory for handlers, stored encrypted with the session. */
export interface SessionValues {
  get<T = unknown>(key: string): T | undefined;
  /** Values must be JSON-serialisable. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** What a handler may use besides its request. Deliberately narrow: no raw request, no keys, no database. */
export interface FlowContext {
  readonly requestId: string;
  /** Pseudonymous id of the user (a keyed hash of the phone number), stable across tokens. */
  readonly subject: string;
  /** Tagged with flow, screen and request id. Never log user-entered values. */
  readonly logger: Logger;
  /** Aborted when the handler's time budget (HANDLER_TIMEOUT_MS) is spent. */
  readonly signal: AbortSignal;
  readonly session: SessionValues;
  /** Data the user submitted on each screen earlier in this session (latest per screen). */
  readonly answers: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Runs after the request's transaction commits (e.g. notify a CRM); failures are logged, never retried. */
  afterCommit(task: () => void | Promise<void>): void;
}

export type Handler<TData = Record<string, unknown>> = (
  request: ScreenRequest<TData>,
  context: FlowContext,
) => HandlerResult | Promise<HandlerResult>;

export interface ScreenDefinition<TData = Record<string, unknown>> {
  readonly screen: string;
  /** A `data_exchange` action on this screen fired (a submit, or a component's on-select). */
  readonly onDataExchange?: Handler<TData>;
  /** Back was pressed on this screen and it has `refresh_on_back: true`; return the previous screen's data. */
  readonly onBack?: Handler<Record<string, unknown>>;
}

export interface FlowDefinition {
  /** URL segment: the flow is served at `POST /flows/<id>`. Lower-case letters, digits, `-`, `_`. */
  readonly id: string;
  /** The Flow JSON exactly as uploaded to Meta. */
  readonly flowJson: unknown;
  /** The user opened the flow (`INIT`): return its first screen. */
  readonly onInit: Handler<Record<string, unknown>>;
  readonly screens: readonly ScreenDefinition<never>[];
  /**
   * Field names whose values may be kept in the audit log. All other values are redacted; fields
   * marked `sensitive` in the Flow JSON are never kept, even when listed here.
   */
  readonly auditValues?: readonly string[];
}

export const FLOW_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/**
 * Declares a screen's handlers.
 *
 * @example
 * export const details = defineScreen<{ name: string; email: string }>('DETAILS', {
 *   async onDataExchange({ data }, ctx) {
 *     if (await isBlocked(data.email)) return showError('Please use another email', { fieldErrors: { email: 'Not accepted' } });
 *     return next('SUMMARY', { summary: `${data.name} <${data.email}>` });
 *   },
 * });
 */
export function defineScreen<TData = Record<string, unknown>>(
  screen: string,
  handlers: Omit<ScreenDefinition<TData>, 'screen'>,
): ScreenDefinition<never> {
  return Object.freeze({ screen, ...handlers }) as unknown as ScreenDefinition<never>;
}

/**
 * Declares a flow: its Flow JSON, its INIT handler and one definition per screen. Register the
 * result in `src/flows/registered.ts`; the registry checks it against the Flow JSON at boot.
 *
 * @example
 * export default defineFlow({
 *   id: 'book-appointment',
 *   flowJson,
 *   onInit: () => next('APPOINTMENT', { departments }),
 *   screens: [appointment, details, summary],
 *   auditValues: ['department'],
 * });
 */
export function defineFlow(definition: FlowDefinition): FlowDefinition {
  return Object.freeze({ ...definition, screens: Object.freeze([...definition.screens]) });
}
