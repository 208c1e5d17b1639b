export * from './errors';
export * from './wire-types';
export * from './results';
export { parseJsonSafely, UnsafeJsonError } from './safe-json';
