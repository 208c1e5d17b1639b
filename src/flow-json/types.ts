import type { PickerLimits } from '../media/picker-limits';
/** The parts of a Flow JSON an endpoint depends on (PROTOCOL.md §8), extracted once at boot. */

export interface Problem {
  readonly severity: 'error' | 'warning';
  /** JSON Pointer into the Flow JSON, e.g. `/screens/1/layout/children/0`. */
  readonly path: string;
  readonly screen?: string;
  readonly message: string;
}

export type InputComponent =
  | 'TextInput'
  | 'TextArea'
  | 'Dropdown'
  | 'RadioButtonsGroup'
  | 'CheckboxGroup'
  | 'ChipsSelector'
  | 'OptIn'
  | 'DatePicker'
  | 'CalendarPicker'
  | 'PhotoPicker'
  | 'DocumentPicker';

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
  /** PhotoPicker/DocumentPicker only: file count, size and type limits as written. */
  readonly picker?: PickerLimits;
}

/** A `data_exchange` action: where it is and the payload it sends (PROTOCOL.md §3.1). */
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
