export { flowRouter } from './flow-route';
export { tokenApiRouter } from './token-api';
export { healthRouter } from './health';
export { ERROR_STATUS, statusOf } from './error-status';
export { bearerMatches } from './bearer';
