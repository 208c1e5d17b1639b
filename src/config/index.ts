export { loadConfig, loadDatabaseConfig, loadVariables, ConfigError } from './load-config';
export type { ConfigProblem, LoadConfigOptions } from './load-config';
export { ENV_SPEC, VARIABLES } from './env-spec';
export type { EnvValues, VarName, VarSpec } from './env-spec';
export { Secret } from './secret';
export type { Config, SubmissionKey } from './types';
