/** The handler API developers use: the one surface a flow's code (and its flow.generated.ts) imports. */
export { defineFlow, defineScreen, FLOW_ID_PATTERN } from './api';
export type {
  FlowDefinition,
  ScreenDefinition,
  ScreenRequest,
  FlowContext,
  SessionValues,
  Handler,
  CompletionReply,
  CompletionContext,
} from './api';
export { next, showError, complete, HandlerContractError } from '../protocol/results';
export type { HandlerResult, NextScreenResult, ShowErrorResult, CompleteResult } from '../protocol/results';
export { typedFlow } from './typed-api';
export type * from './typed-api';
export { MediaError } from '../media';
