import envelopeSchema from '../../schemas/envelope.json';
import decryptedRequestSchema from '../../schemas/decrypted-request.json';
import errorNotificationSchema from '../../schemas/error-notification.json';
import { compileSchema } from './ajv';
import type { DecryptedRequest, EnvelopeFieldsShape } from './types';

/** Layer 1 and 2 of validation (src/ARCHITECTURE.md, rule 6): the envelope, then the decrypted request. */
export const validateEnvelope = compileSchema<EnvelopeFieldsShape>(envelopeSchema, 'envelope');
export const validateDecryptedRequest = compileSchema<DecryptedRequest>(decryptedRequestSchema, 'decrypted-request');
export const validateErrorNotification = compileSchema<DecryptedRequest>(errorNotificationSchema, 'error-notification');
