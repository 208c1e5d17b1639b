/** Developer tools behind `npm run keys | simulate | check | new-flow`; the CLIs in src/cli are thin. */
export { DevtoolError } from './errors';
export {
  checkKeys,
  fingerprintOf,
  generateKeys,
  GRAPH_API_VERSION,
  KeyToolError,
  readPassphraseFile,
  uploadInstructions,
} from './keys';
export type { GeneratedKeys, KeyCheckResult } from './keys';
export { checkFlowJsonText, checkFlows, formatDiagnostic } from './check-flows';
export type { CheckFlowsOptions, FlowDiagnostic } from './check-flows';
export * from './simulator';
export { findProjectRoot, identifierFor, scaffoldFlow, ScaffoldError } from './new-flow';
