export { ajv, compileSchema, describeErrors, SchemaCompileError } from './ajv';
export type { ErrorObject, ValidateFunction } from './ajv';
export { validateEnvelope, validateDecryptedRequest, validateErrorNotification } from './request-schemas';
