export { parseFlowJson, compareVersions, INPUT_COMPONENTS } from './parse';
export { checkFlowJson } from './check';
export { httpsOnlyProblems } from './https-only';
export type { HttpsRuleOptions } from './https-only';
export { deriveIncomingSchemas } from './incoming-schema';
export type { IncomingActionSchema } from './incoming-schema';
export { responseSchemaFor, errorBindingKeys } from './response-schema';
export type { FlowModel, ScreenModel, FieldModel, Problem, DataExchangeAction, InputComponent } from './types';
