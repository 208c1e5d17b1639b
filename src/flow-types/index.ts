/** Types generated from each flow's flow.json (`npm run types`), and the drift check. */
export { generateFlowTypes, flowJsonHash, hashOfGenerated, GENERATED_MARK } from './generate';
export type { GenerateOptions } from './generate';
export {
  GENERATED_FILE,
  findFlowJsonFiles,
  flowTypesFor,
  writeFlowTypes,
  findStaleFlowTypes,
  describeStale,
  FlowTypesError,
} from './files';
export type { StaleTypes, WriteReport } from './files';
export { readFlow } from './read-flow';
export type { FlowInfo, ScreenInfo, InputInfo } from './read-flow';
