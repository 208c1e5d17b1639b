import type { InputComponent } from './types';

/**
 * Components that collect a value under their `name` (form inputs): what the runtime reads
 * (src/flow-json/parse.ts) and what the type generator types (src/flow-types/read-flow.ts). Kept
 * free of other imports so the generator can load it before anything is compiled.
 */
export const INPUT_COMPONENTS: ReadonlySet<string> = new Set<InputComponent>([
  'TextInput',
  'TextArea',
  'Dropdown',
  'RadioButtonsGroup',
  'CheckboxGroup',
  'ChipsSelector',
  'OptIn',
  'DatePicker',
  'CalendarPicker',
  'PhotoPicker',
  'DocumentPicker',
]);

/** A JSON object (not null, not an array). */
export const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
