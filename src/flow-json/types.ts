import type { InputComponent as InputComponentName } from '../flow-types/components';
import type { PickerLimits } from '../media/picker-limits';
/** The parts of a Flow JSON an endpoint depends on (src/protocol/NOTES.md, "Flow JSON facts"), extracted once at boot. */

export interface Problem {
  readonly severity: 'error' | 'warning';
  /** JSON Pointer into the Flow JSON, e.g. `/screens/1/layout/children/0`. */
  readonly path: string;
  readonly screen?: string;
  readonly message: string;
}

/** The form inputs (src/flow-types/components.ts). */
export type InputComponent = InputComponentName;

export interface FieldModel {
  readonly name: string;
  readonly component: InputComponent;
  readonly path: string;
  readonly label: string | undefined;
  /** true/false when literal; undefined when bound to data (`${data.x}`). */
  readonly required: boolean | undefined;
  readonly inputType: string | undefined;
  readonly minChars: number | undefined;
  readonly maxChars: number | undefined;
  readonly pattern: string | undefined;
  readonly minSelected: number | undefined;
  readonly maxSelected: number | undefined;
  /** Literal option ids of a static `data-source`; undefined when bound to data. */
  readonly optionIds: readonly string[] | undefined;
  /** `${data.KEY}` a dynamic `data-source` is bound to. */
  readonly optionsDataKey: string | undefined;
  readonly mode: string | undefined;
  /** `${data.KEY}` this component's `error-message` is bound to (Flow JSON ≥ 4.0). */
  readonly errorMessageDataKey: string | undefined;
  /** Inside an `If`/`Switch` branch: it may not be on screen, so it is never required in a payload. */
  readonly conditional: boolean;
  /** PhotoPicker/DocumentPicker only: file count, size and type limits as written. */
  readonly picker?: PickerLimits;
}

/** An `update_data` action (Flow JSON ≥ 6.0): changes this screen's data on the device, no request. */
export interface UpdateDataAction {
  readonly path: string;
  readonly keys: readonly string[];
}

/** An `open_url` action (Flow JSON ≥ 6.0): opens a link; the user stays on the screen. */
export interface OpenUrlAction {
  readonly path: string;
  readonly url: unknown;
}

/** A `${screen.<SCREEN>.form.x}` or `${screen.<SCREEN>.data.x}` binding (Flow JSON ≥ 4.0). */
export interface ScreenBinding {
  readonly screen: string;
  readonly kind: 'form' | 'data';
  readonly key: string;
  readonly path: string;
}

/** A `data_exchange` action: where it is and the payload it sends (src/protocol/NOTES.md, "Requests"). */
export interface DataExchangeAction {
  readonly path: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface ScreenModel {
  readonly id: string;
  readonly index: number;
  readonly title: string | undefined;
  readonly terminal: boolean;
  readonly success: boolean;
  readonly refreshOnBack: boolean;
  /** The screen's `data` declaration, as written (with `__example__`). */
  readonly dataDeclaration: Readonly<Record<string, Record<string, unknown>>>;
  readonly sensitive: readonly string[];
  readonly fields: ReadonlyMap<string, FieldModel>;
  readonly dataExchangeActions: readonly DataExchangeAction[];
  readonly navigateTargets: readonly { readonly path: string; readonly screen: string }[];
  readonly updateDataActions: readonly UpdateDataAction[];
  readonly openUrlActions: readonly OpenUrlAction[];
  /** Action names flowgate does not know (not complete, data_exchange, navigate, update_data, open_url). */
  readonly unknownActions: readonly { readonly path: string; readonly name: string }[];
  /** `If`/`Switch` components, with where (Flow JSON ≥ 4.0). */
  readonly conditionals: readonly { readonly type: 'If' | 'Switch'; readonly path: string }[];
  /** Form `init-values` given as an object: field → value, with where. */
  readonly initValues: readonly { readonly path: string; readonly fields: readonly string[] }[];
  /** Every `${screen.S.form.x}` / `${screen.S.data.x}` this screen reads. */
  readonly screenBindings: readonly ScreenBinding[];
  readonly hasFooter: boolean;
  /** `${data.KEY}` a Form's `error-messages` is bound to (map of field → message). */
  readonly formErrorMessagesDataKey: string | undefined;
  /** Every `${data.x}` this screen reads, with where. */
  readonly dataBindings: readonly { readonly key: string; readonly path: string }[];
  /** Every `${form.x}` this screen reads, with where. */
  readonly formBindings: readonly { readonly key: string; readonly path: string }[];
}

export interface FlowModel {
  readonly version: string;
  readonly dataApiVersion: string | undefined;
  readonly routingModel: Readonly<Record<string, readonly string[]>>;
  readonly screens: ReadonlyMap<string, ScreenModel>;
  /** Screens no route leads to: where a flow may start. */
  readonly entryScreens: readonly string[];
}
