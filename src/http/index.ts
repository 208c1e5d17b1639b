export { flowRouter } from './flow-route';
export { tokenApiRouter } from './token-api';
export { healthRouter } from './health';
export { knownErrorReply, statusOf } from './error-status';
export { bearerMatches } from '../crypto';
export { flowEdge, type FlowEdgeOptions } from './flow-edge';
export { recordedSecurityHeaders, securityMiddleware } from './security-headers';
export { clientAddress } from './client-address';
export { webhookRouter, flowMessagesRouter } from './webhook-route';
