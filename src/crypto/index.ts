export { loadPrivateKeyFile, parsePrivateKeyPem, PrivateKeyError } from './private-key';
export { writeKeyPair } from './dev-key-pair';
export type { GeneratedKeyPair } from './dev-key-pair';
export { decryptEnvelope, encryptResponse, EnvelopeDecryptError } from './flow-cipher';
export type { DecryptedEnvelope, EnvelopeFields, DecryptFailure, RsaTimeSink } from './flow-cipher';
export { isValidHubSignature, hubSignature } from './signature';
export { AtRestCipher, AtRestDecryptError } from './at-rest-cipher';
export type { SealedValue } from './at-rest-cipher';
export { decodeStrictBase64 } from './base64';
