export { FlowTokenCodec } from './flow-token';
export type { IssuedToken, VerifiedToken } from './flow-token';
export { normalizePhoneNumber, InvalidPhoneNumberError } from './phone';
export { subjectOf, subjectRef, tokenHash } from './subject';
export { InvalidTtlError, TokenService, tokenIdOf, UnknownFlowIdError } from './token-service';
export type { RevokeTarget, TokenServiceOptions } from './token-service';
export { FlowTokenSignatureVerifier } from './flow-token-signature';
export type { FlowTokenSignatureRejection } from './flow-token-signature';
