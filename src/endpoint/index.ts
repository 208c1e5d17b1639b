/** The request engine the service is built from: the flow registry, the dispatcher and what they share. */
export { buildRegistry, RegistrationError } from './registry';
export type { Registry, RegisteredFlow, RegisteredScreen } from './registry';
export { Dispatcher } from './dispatcher';
export { submissionAad } from './session-step';
export type { DispatcherDeps, FlowHttpRequest, FlowHttpResponse, RequestObservation } from './dispatcher';
export { routeAllowed, GENERIC_ERROR_MESSAGE, TIMEOUT_MESSAGE } from './screen-runner';
export { MAX_RESPONSE_BYTES, encryptedBodyBytes } from './data-api';
