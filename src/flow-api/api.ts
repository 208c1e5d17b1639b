import type { ConsentDeclaration } from '../consents/declaration';
import type { HandlerResult } from '../protocol';
import type { Logger } from '../logging';
import type { MediaFiles } from '../media';

/**
 * The request a screen handler sees: decrypted, validated against the screen's schema, and frozen.
 * Ping, error notifications and flow-token checks never reach handler code.
 *
 * @typeParam TData - The payload of the screen's `data_exchange` action(s) as written in the Flow
 *   JSON: each `"key": "${form.x}"` becomes `key` with input x's value. flowgate has already checked
 *   `data` against a schema derived from the Flow JSON (required inputs, lengths, options, dates);
 *   invalid data never reaches the handler — the user sees the screen again with field errors.
 *
 * @example
 * // flow.json: "payload": { "trigger": "date_selected", "date": "${form.date}" }
 * onDataExchange({ action, screen, data }) {
 *   // action === 'data_exchange', screen === 'APPOINTMENT', data.date === '2026-01-05'
 * }
 */
export interface ScreenRequest<TData = Record<string, unknown>> {
  /** The flow's id (its URL segment). */
  readonly flowId: string;
  /** `INIT` when the flow opens, `BACK` for back on a `refresh_on_back` screen, else `data_exchange`. */
  readonly action: 'INIT' | 'BACK' | 'data_exchange';
  /** The screen the user is on (for BACK: the screen where back was pressed); undefined for INIT. */
  readonly screen: string | undefined;
  /** The action's payload (empty for INIT and BACK). */
  readonly data: Readonly<TData>;
}

/**
 * Small per-session key/value memory for handlers, stored encrypted with the session (one session
 * per flow token). Use it to carry a choice from one screen to a later one.
 *
 * @example
 * // APPOINTMENT screen
 * ctx.session.set('slot', { date: data.date, time: data.time });
 * // SUMMARY screen, later in the same flow
 * const slot = ctx.session.get<{ date: string; time: string }>('slot');
 * if (!slot) return showError('Your session has expired. Please start again.');
 */
export interface SessionValues {
  /** The value stored under `key`, or undefined. */
  get<T = unknown>(key: string): T | undefined;
  /** Stores `value` (JSON-serialisable) with the session, saved together with this request's answer. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/**
 * What a handler may use besides its request. Deliberately narrow: no raw request, no keys, no database.
 *
 * @example
 * onDataExchange({ data }, ctx) {
 *   ctx.logger.info('slot chosen'); // never log what the user typed
 *   const earlier = ctx.answers.APPOINTMENT?.department; // what APPOINTMENT submitted
 *   ctx.afterCommit(() => crm.notify(ctx.subject)); // after the answer is stored
 *   return next('SUMMARY', { summary: String(earlier) });
 * }
 */
export interface FlowContext {
  /** Id of this request in logs and audit events. */
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
  /** Runs after the request's answer is stored (e.g. notify a CRM); once per request; failures are logged, never retried. */
  afterCommit(task: () => void | Promise<void>): void;
  /**
   * Runs when this request's answer is not stored: the transaction failed (the database went away,
   * say), the handler failed or ran out of time so its result was refused, or a request of the
   * same token served by another process changed the session while this handler ran — then the
   * handler runs again on the new session, so it may run more than once per request. Use it to
   * give back what the handler took outside flowgate (a held time slot, a reservation); failures
   * are logged, never retried. Registered after that moment, it runs at once.
   *
   * @example
   * if (!calendar.hold(slot)) return showError('That time was just taken.');
   * ctx.afterRollback(() => calendar.release(slot));
   */
  afterRollback(task: () => void | Promise<void>): void;
  /**
   * Downloads, verifies (Meta's hashes and MAC), decrypts and stores the files of this request's
   * PhotoPicker/DocumentPicker values: `await ctx.media.fetchAll(data.photos)`. Failures are
   * MediaErrors with a `userMessage` to show with showError(); see src/media/media-service.ts.
   */
  readonly media: MediaFiles;
}

/**
 * A screen handler: gets the validated request and the context, returns one of the results built
 * with {@link next}, {@link showError} or {@link complete} (or a promise of one). A handler that
 * throws or runs past HANDLER_TIMEOUT_MS is answered for you with a generic error on the current
 * screen; the details go to the log, not to the user.
 */
export type Handler<TData = Record<string, unknown>> = (
  request: ScreenRequest<TData>,
  context: FlowContext,
) => HandlerResult | Promise<HandlerResult>;

/** The handlers of one screen; build it with {@link defineScreen}. */
export interface ScreenDefinition<TData = Record<string, unknown>> {
  /** The screen's `id` in the Flow JSON. */
  readonly screen: string;
  /** A `data_exchange` action on this screen fired (a submit, or a component's on-select). */
  readonly onDataExchange?: Handler<TData>;
  /** Back was pressed on this screen and it has `refresh_on_back: true`; return the previous screen's data. */
  readonly onBack?: Handler<Record<string, unknown>>;
}

/**
 * A completion reply: what the user sent when the flow closed on the phone, delivered by WhatsApp
 * as an `nfm_reply` message on the business webhook (src/webhooks/) and already stored, encrypted,
 * as a submission when the hook sees it.
 */
export interface CompletionReply {
  readonly flowId: string;
  /** Id of the flow token the reply completed (its row in `flow_tokens`). */
  readonly tokenId: string;
  /** Pseudonymous id of the user (as in {@link FlowContext.subject}). */
  readonly subject: string;
  /** The reply's `response_json` without `flow_token`: the payload of the flow's `complete` action. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Id of the stored submission (compliance inventory, exports, erasure). */
  readonly submissionId: string;
  /** How the reply was tied to its token: its `flow_token`, or the recorded id of the sent flow message. */
  readonly linkedBy: 'flow_token' | 'context_id';
}

/** What a completion hook may use: a tagged logger and a signal aborted when its time is up. */
export interface CompletionContext {
  readonly requestId: string;
  /** Never log what the user entered. */
  readonly logger: Logger;
  /** Aborted after COMPLETION_HOOK_TIMEOUT_MS. */
  readonly signal: AbortSignal;
}

/** One flow served by this endpoint; build it with {@link defineFlow}. */
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
  /**
   * Runs once a completion reply of this flow arrived on the webhook and was stored (in the same
   * transaction the token was completed). Bounded by COMPLETION_HOOK_TIMEOUT_MS; a failure or
   * timeout is logged and counted, never retried, and never loses the stored reply. Runs again
   * only if the process stopped before the hook finished and WhatsApp redelivers the message.
   *
   * @example
   * onComplete: async (reply, ctx) => {
   *   await crm.bookingConfirmed(reply.subject, reply.data, { signal: ctx.signal });
   * },
   */
  readonly onComplete?: (reply: CompletionReply, context: CompletionContext) => void | Promise<void>;
  /**
   * Meta's id of this flow (the number in WhatsApp Manager), so health alerts about it are labelled
   * with this flow's id in metrics and the audit log instead of Meta's number.
   */
  readonly metaFlowId?: string;
  /**
   * OptIn fields that record a consent (purpose, policy URL and version): on completion flowgate
   * writes a consent record with the submission, in the same transaction (src/consents).
   */
  readonly consents?: readonly ConsentDeclaration[];
}

/** What a flow id may look like: it is a URL segment and part of every flow token. */
export const FLOW_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/**
 * Declares a screen's handlers. Boot (and `npm run check`) refuses a screen whose handlers do not
 * fit its Flow JSON: `onDataExchange` is required exactly when the screen has a `data_exchange`
 * action, `onBack` exactly when it has `refresh_on_back: true`. Terminal screens and screens that
 * only `navigate` need no definition.
 *
 * This is the untyped form: you write `TData`. A flow's `flow.generated.ts` (`npm run types`)
 * exports a `defineScreen` that takes it, the routes and the target screens' data from the Flow
 * JSON instead (see ./typed-api.ts).
 *
 * @typeParam TData - The shape of the screen's `data_exchange` payload (see {@link ScreenRequest}).
 * @param screen - The screen's `id` in the Flow JSON.
 * @param handlers - `onDataExchange` and/or `onBack`.
 *
 * @example
 * export const details = defineScreen<{ name: string; email: string }>('DETAILS', {
 *   async onDataExchange({ data }, ctx) {
 *     if (await isBlocked(data.email)) return showError('Please use another email', { fieldErrors: { email: 'Not accepted' } });
 *     return next('SUMMARY', { summary: `${data.name} <${data.email}>` });
 *   },
 *   // Only with "refresh_on_back": true on DETAILS: WhatsApp asks for the previous screen's data.
 *   onBack: (_request, ctx) => next('APPOINTMENT', appointmentData(ctx.session.get('date'))),
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
 * result in `src/flows/registered.ts`; the registry checks it against the Flow JSON at boot, and
 * `npm run check` runs the same checks offline. `npm run new-flow -- <id>` writes a working start.
 *
 * @param definition - id, Flow JSON, `onInit` (returns the entry screen and its data), the screens'
 *   handlers and the field names whose values the audit log may keep.
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
