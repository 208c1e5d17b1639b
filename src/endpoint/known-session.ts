import type { SessionRead } from '../storage';

/** A token's session as this request read it (or as the refused write returned it). */
export interface KnownSession {
  readonly read: SessionRead;
  /** The subject reference of the token's audit events (computed once from the salt). */
  readonly subjectRef: string | undefined;
  /** The session state's JSON as last opened or sealed (its blob is `read.session.state`). */
  readonly stateJson: string | undefined;
}
