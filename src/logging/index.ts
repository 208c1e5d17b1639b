export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { redact } from './redact';
export { errorSummary } from './error-summary';
export { safeText, safeDeep, REPLACEMENT } from './safe-text';
