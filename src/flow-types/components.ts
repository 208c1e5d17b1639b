/**
 * Components that collect a value under their `name` (form inputs): what the type generator types
 * (src/flow-types/read-flow.ts) and the runtime reads (src/flow-json/parse.ts). Here, without
 * imports, because the generator runs from its own folder before anything is compiled
 * (src/flow-types/run.js).
 */
export const INPUT_COMPONENT_NAMES = [
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
] as const;

export type InputComponent = (typeof INPUT_COMPONENT_NAMES)[number];

export const INPUT_COMPONENTS: ReadonlySet<string> = new Set(INPUT_COMPONENT_NAMES);

/** A JSON object (not null, not an array). */
export const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
