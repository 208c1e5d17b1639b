import {
  complete,
  next,
  showError,
  type CompleteResult,
  type CompletionParams,
  type NextScreenResult,
  type ShowErrorResult,
  type WithoutFlowToken,
} from '../protocol/results';
import {
  defineFlow,
  defineScreen,
  type FlowContext,
  type FlowDefinition,
  type ScreenDefinition,
  type ScreenRequest,
} from './api';

/**
 * The handler API checked against a flow's Flow JSON. `npm run types` writes, next to each
 * flow.json, a `flow.generated.ts` with the flow's `FlowTypes` and this API bound to it:
 *
 *   import { defineScreen, next, showError } from '../flow.generated';
 *   export const rate = defineScreen('RATE', {            // 'RATE' must be a screen of flow.json
 *     onDataExchange({ data }) {                           // data: what RATE's data_exchange sends
 *       return next('THANKS', { score_text: data.score }); // a route RATE → THANKS must exist, and
 *     },                                                   // THANKS's declared data must be given
 *   });
 *
 * Nothing changes at run time: these are the same functions as in ./api and ../protocol/results,
 * and the dispatcher still checks every answer against the Flow JSON. Flows that write their
 * types by hand (`defineScreen<{ score: string }>('RATE', …)` from '..') keep working.
 */

/** What a generated `FlowTypes` looks like. */
export interface FlowTypeShape {
  readonly entry: string;
  /** Every screen id (the keys of `screens`), spelled out so compiler messages list them. */
  readonly ids: string;
  readonly screens: {
    readonly [screen: string]: {
      readonly request: unknown;
      readonly data: object;
      readonly next: string;
      readonly back: string;
      readonly refreshOnBack: boolean;
    };
  };
}

/** A CalendarPicker in `range` mode sends both dates (YYYY-MM-DD). */
export interface DateRange {
  readonly 'start-date': string;
  readonly 'end-date': string;
}

/**
 * One file a PhotoPicker or DocumentPicker sent (media id, CDN URL, file name, encryption
 * metadata). The request check only ensures each entry is an object, so its fields are unknown
 * until the media module has checked them.
 */
export type MediaItem = Readonly<Record<string, unknown>>;

type Awaitable<T> = T | Promise<T>;
type ScreenIdOf<F extends FlowTypeShape> = F['ids'] & keyof F['screens'];
type ScreenOf<F extends FlowTypeShape, S extends ScreenIdOf<F>> = F['screens'][S];

/** The context, with `answers` typed: what each screen sent, when it has been answered. */
export interface TypedFlowContext<F extends FlowTypeShape> extends Omit<FlowContext, 'answers'> {
  readonly answers: { readonly [S in ScreenIdOf<F>]?: Readonly<ScreenOf<F, S>['request']> };
}

/** What onDataExchange of screen S may return: next() to a route of S, an error on S, or completion. */
export type DataExchangeResult<F extends FlowTypeShape, S extends ScreenIdOf<F>> =
  NextScreenResult<ScreenOf<F, S>['next']> | ShowErrorResult<ScreenOf<F, S>['data']> | CompleteResult;

/** What onBack of screen S may return: next() to a screen that routes to S (or S itself). */
export type BackResult<F extends FlowTypeShape, S extends ScreenIdOf<F>> =
  NextScreenResult<ScreenOf<F, S>['back']> | ShowErrorResult<ScreenOf<F, S>['data']>;

/**
 * The handlers of screen S, as the registry wants them at boot: `onDataExchange` exactly when the
 * screen sends data_exchange, `onBack` exactly when it has `refresh_on_back: true`.
 */
export type TypedScreenHandlers<F extends FlowTypeShape, S extends ScreenIdOf<F>> = ([
  ScreenOf<F, S>['request'],
] extends [never]
  ? { readonly onDataExchange?: never }
  : {
      readonly onDataExchange: (
        request: ScreenRequest<ScreenOf<F, S>['request']>,
        context: TypedFlowContext<F>,
      ) => Awaitable<DataExchangeResult<F, S>>;
    }) &
  (ScreenOf<F, S>['refreshOnBack'] extends true
    ? {
        readonly onBack: (
          request: ScreenRequest<Record<string, unknown>>,
          context: TypedFlowContext<F>,
        ) => Awaitable<BackResult<F, S>>;
      }
    : { readonly onBack?: never });

declare const flowBrand: unique symbol;

/** A screen definition of flow F: defineFlow of another flow refuses it. */
export type TypedScreenDefinition<F extends FlowTypeShape> = ScreenDefinition<never> & { readonly [flowBrand]?: F };

export interface TypedFlowDefinition<F extends FlowTypeShape> extends Omit<FlowDefinition, 'onInit' | 'screens'> {
  /** The user opened the flow: return an entry screen (one no route leads to) with its data. */
  readonly onInit: (
    request: ScreenRequest<Record<string, unknown>>,
    context: TypedFlowContext<F>,
  ) => Awaitable<NextScreenResult<F['entry']> | CompleteResult>;
  readonly screens: readonly TypedScreenDefinition<F>[];
}

/** `data` is optional only when the screen declares nothing that must be sent. */
type DataArgument<D> = object extends D ? [data?: D] : [data: D];

export interface TypedFlowApi<F extends FlowTypeShape> {
  defineFlow(definition: TypedFlowDefinition<F>): FlowDefinition;
  defineScreen<S extends ScreenIdOf<F>>(screen: S, handlers: TypedScreenHandlers<F, S>): TypedScreenDefinition<F>;
  /** Show `screen` with `data`: every property its `data` declaration lists, with the declared types. */
  next<S extends ScreenIdOf<F>>(screen: S, ...data: DataArgument<ScreenOf<F, S>['data']>): NextScreenResult<S>;
  /** Stay on the screen with a message; `data`, when given, must be the screen's data. */
  showError<D extends object = never>(
    message: string,
    options?: { fieldErrors?: Record<string, string>; data?: D },
  ): ShowErrorResult<D>;
  /** Close the flow; `params` are flat values and never `flow_token`. */
  complete<P extends CompletionParams = CompletionParams>(options?: {
    params?: P & WithoutFlowToken;
    submission?: Record<string, unknown>;
  }): CompleteResult<P>;
}

const TYPED = Object.freeze({ defineFlow, defineScreen, next, showError, complete });

/**
 * The handler API bound to a flow's generated `FlowTypes`. The generated file calls it; flows do
 * not need to. Returns the ordinary functions: the binding exists only for the compiler.
 */
export function typedFlow<F extends FlowTypeShape>(): TypedFlowApi<F> {
  return TYPED as unknown as TypedFlowApi<F>;
}
