export { loadConfig, loadDatabaseConfig, ConfigError, parseKeyring } from './load-config';
export type { LoadConfigOptions } from './load-config';
export { ENV_SPEC } from './env-spec';
export type { VarSpec } from './env-spec';
export { Secret } from './secret';
export type { Config, SubmissionKey } from './types';
