/** Consent records: declared OptIns recorded with their submission, withdrawals, erasure, the ledger. */
export { resolveConsents, PURPOSE_PATTERN } from './declaration';
export type { ConsentDeclaration, RegisteredConsent } from './declaration';
export { recordCompletionConsents } from './at-completion';
export type { CompletionConsents, RecordedConsent } from './at-completion';
export { listConsentsOfSubject, latestPerPurpose, toConsentRecord } from './records';
export type { ConsentDecision, ConsentRecord, ConsentSource } from './records';
export { consentsOnErasure, withdrawConsent } from './withdraw';
export type { WithdrawalInput, WithdrawalResult } from './withdraw';
export { consentHoldersAsOf, holdersToCsv, HOLDER_COLUMNS } from './ledger';
export type { ConsentHolder } from './ledger';
