/** The handler API developers use, plus the registry and dispatcher the service is built from. */
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
export { buildRegistry, RegistrationError } from './registry';
export type { Registry, RegisteredFlow, RegisteredScreen } from './registry';
export { Dispatcher } from './dispatcher';
export { submissionAad } from './session-step';
export type { DispatcherDeps, FlowHttpRequest, FlowHttpResponse, RequestObservation } from './dispatcher';
export { routeAllowed, GENERIC_ERROR_MESSAGE, TIMEOUT_MESSAGE } from './screen-runner';
export { openSessionState } from './session-state';
