/** Compliance actions on stored data: each one checks its input and records itself in the audit log. */
export { assertValidActor, InvalidActorError, osAccount, recordableAccount } from './actor';
export type { Actor, ClaimedActor } from './actor';
export type { ComplianceDeps } from './deps';
export { subjectOfPhone, subjectRefsOfPhone } from './subject-lookup';
export {
  openSubmission,
  readSubmission,
  purgeOlderThan,
  reencryptAll,
  SubmissionNotFoundError,
  UndecryptableError,
} from './submissions';
export type { DecryptedSubmission, PurgeResult, ReencryptResult } from './submissions';
export { exportSubjectData, eraseSubject, heldTokenOf, isoOrNull, openExportedSession } from './data-subject';
export type { ExportedSession, HeldToken, SubjectExport, ErasureResult } from './data-subject';
export { openExportedMediaFile } from './media-files';
export type { ExportedMediaFile } from './media-files';
export { csvCell, formatAuditRows, toCsv, toJsonLines, toTable } from './report-format';
export type { AuditFormat } from './report-format';
