import { randomUUID } from 'node:crypto';
import { redactFields, type AuditLog } from '../audit';
import type { AtRestCipher } from '../crypto';
import { FlowgateError } from '../errors';
import type { Logger } from '../logging';
import type { MediaService } from '../media';
import {
  FlowTokenNoLongerValidError,
  OutOfSequenceError,
  ServiceUnavailableError,
  type DecryptedRequest,
} from '../protocol';
import {
  insertSubmission,
  markTokenCompleted,
  readSession,
  SESSION_NOW,
  sessionReadOf,
  sessionUpsert,
  type DirectSql,
  type SessionRead,
  type SqlTransaction,
} from '../storage';
import { recordCompletionConsents } from '../consents';
import { subjectRef, type VerifiedToken } from '../tokens';
import { assertResponseFits } from './data-api';
import type { FlowHttpRequest } from './endpoint-types';
import { HandlerEffects } from './handler-effects';
import { redactionRules } from './redaction-rules';
import type { RegisteredFlow } from './registry';
import { auditEventOf, type Trace } from './request-trace';
import { runScreenRequest, type ScreenOutcome } from './screen-runner';
import { positionRefusal } from './session-position';
import type { KnownSession } from './known-session';
import {
  emptySessionState,
  openSessionJson,
  parseSessionState,
  sealSessionJson,
  sessionStateJson,
} from '../storage/session-state';
import { TokenQueue } from './token-queue';

export interface SessionStepDeps {
  /** The request path's statements: session read, guarded session write with its audit event, submission. */
  readonly sql: DirectSql;
  readonly audit: AuditLog;
  readonly cipher: AtRestCipher;
  readonly logger: Logger;
  readonly handlerTimeoutMs: number;
  /**
   * Requests one flow token may make per minute (RATE_LIMIT_PER_TOKEN_PER_MINUTE); undefined, no
   * limit. Counted in the token's session row, which the request reads and writes anyway.
   */
  readonly perTokenPerMinute?: number;
  /** Picker files (ctx.media): download, checks, encrypted storage. Absent: ctx.media refuses. */
  readonly media?: MediaService;
}

/** An INIT, BACK or data_exchange whose flow token verified. */
export type SessionRequest = DecryptedRequest & { action: 'INIT' | 'BACK' | 'data_exchange' };

/** One request on its way through the session step, and what is known about it so far. */
export interface SessionCall {
  readonly flow: RegisteredFlow;
  readonly request: SessionRequest;
  readonly verified: VerifiedToken;
  /** Filled in as the step learns more (subject, redacted fields, detail), for the audit event. */
  readonly trace: Trace;
  readonly input: FlowHttpRequest;
  /** performance.now() when the request arrived (the audit event's duration). */
  readonly started: number;
}

/** What a request stored and answers with (its response JSON, still to be encrypted). */
export interface StoredReply {
  readonly json: unknown;
  readonly outcome: string;
}

/**
 * The session changed between this attempt's read and its write: nothing was stored. `now`: the
 * session as the refused write found it (read in the same statement); undefined, read it again.
 */
interface SessionChanged {
  readonly changed: true;
  readonly now: KnownSession | undefined;
}

const changed = (now?: KnownSession): SessionChanged => ({ changed: true, now });

/** The write of `session.otherwise`: the session as it is, when the guarded write was refused. */
const SESSION_NOW_READ = { name: 'session_now', text: SESSION_NOW } as const;

/** Thrown inside a completion's transaction to roll it back as SESSION_CHANGED. */
class SessionChangedError extends FlowgateError {
  constructor() {
    super('session_changed', 'the session changed between read and write');
  }
}

/**
 * Attempts of one request whose session requests of the same token in other processes keep
 * changing. Such races are rare (WhatsApp sends a user's requests one at a time; a retry may
 * overlap, and within a process they queue), so a few attempts settle them; past that the request
 * is answered 503 and WhatsApp retries it.
 */
const MAX_ATTEMPTS = 4;

/**
 * Longest a request waits for earlier requests of its token in this process before it is answered
 * 503 (WhatsApp retries): as long as the old row lock could be waited for (the statement timeout),
 * so that waiting plus its own handler stays near WhatsApp's 10 s.
 */
const QUEUE_WAIT_MS = 5000;

const TOO_FAST_MESSAGE = 'You are going a bit fast. Please wait a moment and try again.';

/**
 * The session step of a request: read, run, write — without holding a connection or a lock while
 * developer code runs (a slow handler once held a pooled connection and the token's row lock for
 * up to HANDLER_TIMEOUT_MS, so ten slow handlers could starve every other request of the pool).
 * The session is read without a lock (which also tells whether the token is still active: a
 * revoked, completed or erased token never reaches developer code), the handler runs; the session
 * upsert is guarded by the version
 * read (src/storage/token-repository.ts, UPSERT_SESSION) and sent with the audit event in one
 * statement: one round trip for the usual request. Within this process the requests of one token
 * wait for each other (TokenQueue); when a request of the same token served by another process
 * (or a revocation, an erasure, a purge) committed in between, nothing is written, the attempt's
 * rollback effects run, and the request runs again on the new state, which the refused statement
 * returned — the order a row lock would have given, at the cost of running the handler again.
 * Skipping the read for a session this process wrote last was tried and dropped: the handler
 * would then run for a token revoked or completed elsewhere, and with two workers half the
 * guesses missed, which made data_exchange slower (README, performance).
 */
export class SessionStep {
  readonly #queue = new TokenQueue();

  constructor(private readonly deps: SessionStepDeps) {}

  /** Runs the request once its token's earlier requests in this process are done (TokenQueueWaitError past 5 s). */
  run(call: SessionCall): Promise<StoredReply> {
    return this.#queue.run(call.verified.id, () => this.#untilStored(call), QUEUE_WAIT_MS);
  }

  async #untilStored(call: SessionCall): Promise<StoredReply> {
    let known: KnownSession | undefined;
    for (let attempt = 1; ; attempt++) {
      const effects = new HandlerEffects(this.deps.logger, { flowId: call.flow.id, requestId: call.input.requestId });
      let reply: StoredReply | SessionChanged;
      try {
        reply = await this.#attempt(call, effects, known ?? (await this.#read(call)));
      } catch (err) {
        // Nothing of this request was stored: what the handler took outside flowgate goes back.
        effects.rollback();
        throw err;
      }
      if ('changed' in reply) {
        effects.rollback();
        if (attempt >= MAX_ATTEMPTS) throw new ServiceUnavailableError('session kept changing');
        known = reply.now;
        continue;
      }
      // A handler that failed or ran out of time had its result rejected: its commit effects must
      // not run (the user was told something went wrong), its rollback effects must.
      if (reply.outcome === 'handler_failed' || reply.outcome === 'handler_timeout') effects.rollback();
      else effects.commit();
      return reply;
    }
  }

  async #read(call: SessionCall): Promise<KnownSession> {
    const read = await readSession(this.deps.sql, call.verified.id);
    if (!read) throw new FlowTokenNoLongerValidError('unknown');
    return knownOf(read);
  }

  async #attempt(
    call: SessionCall,
    effects: HandlerEffects,
    known: KnownSession,
  ): Promise<StoredReply | SessionChanged> {
    const { deps } = this;
    const { flow, request, verified, trace, input, started } = call;
    const { read } = known;
    trace.fields = undefined;
    trace.detail = undefined;
    // The per-token limit, counted in the session row: exact across workers and instances, and
    // free — the count is written back with the session below (migration 20261129000007).
    const rate = countRequest(read.session);
    const allowed = deps.perTokenPerMinute === undefined || rate.count <= deps.perTokenPerMinute;
    trace.subjectRef = known.subjectRef;
    if (read.token.flowId !== flow.id) throw new FlowTokenNoLongerValidError('wrong_flow');
    if (read.token.status !== 'active') throw new FlowTokenNoLongerValidError(read.token.status);
    if (read.token.expiresAt.getTime() <= Date.now()) throw new FlowTokenNoLongerValidError('expired');

    const stateBefore = read.session
      ? (known.stateJson ??
        openSessionJson(deps.cipher, flow.id, verified.id, read.session.stateKeyId, read.session.state))
      : undefined;
    // Parsed for this attempt alone: the handler and the runner change it, and a refused write
    // must leave nothing of that behind.
    const state = stateBefore === undefined ? emptySessionState() : parseSessionState(stateBefore);
    // Sessions follow the flow: a request from a screen this session cannot be on is refused
    // before any developer code runs, and nothing of it is written (src/endpoint/session-position.ts).
    const refusal = positionRefusal(
      flow,
      request.action,
      request.screen,
      read.session?.currentScreen,
      Object.keys(state.screens),
    );
    if (refusal) throw new OutOfSequenceError(refusal);
    const screen = trace.screen ? flow.screens.get(trace.screen) : undefined;
    // Until the data is known to be valid, no value is kept, not even an allowlisted one.
    const shownBefore = screen ? state.screens[screen.model.id] : undefined;
    if (screen) trace.fields = redactFields(request.data ?? undefined, redactionRules(flow, screen, false));

    let outcome: ScreenOutcome;
    const limited = allowed ? undefined : tooFast(flow, request, state);
    if (limited) {
      outcome = limited;
    } else {
      outcome = await runScreenRequest(flow, request, state, {
        requestId: input.requestId,
        subject: verified.subject,
        flowToken: request.flow_token as string,
        logger: deps.logger,
        timeoutMs: deps.handlerTimeoutMs,
        afterCommit: effects.afterCommit,
        afterRollback: effects.afterRollback,
        media: deps.media
          ? (screenOfCall, data, signal) =>
              (deps.media as MediaService).helper(
                {
                  flowId: flow.id,
                  tokenId: verified.id,
                  subjectId: verified.subject,
                  requestId: input.requestId,
                  tokenHash: trace.tokenHash,
                  subjectRef: trace.subjectRef,
                },
                screenOfCall,
                data,
                signal,
              )
          : undefined,
      });
    }
    if (outcome.detail) trace.detail = outcome.detail;
    // Never stored or sent when WhatsApp could not take it (1 MB): a developer error, answered 500.
    assertResponseFits(outcome.response, request.version);
    if (screen && outcome.outcome !== 'invalid_data' && outcome.outcome !== 'rate_limited') {
      trace.fields = redactFields(request.data ?? undefined, redactionRules(flow, screen, true, shownBefore));
    }

    const stateJson = sessionStateJson(state);
    // Unchanged state keeps its ciphertext (sealing costs a tenth of a millisecond): the same
    // bytes under the same key and associated data, unless the key has been rotated since.
    const sealed =
      read.session && stateJson === stateBefore && read.session.stateKeyId === deps.cipher.currentKeyId
        ? { keyId: read.session.stateKeyId, blob: read.session.state }
        : sealSessionJson(deps.cipher, flow.id, verified.id, stateJson);
    const completing = outcome.outcome === 'completed' && outcome.submission !== undefined;
    const written = {
      tokenId: verified.id,
      flowId: flow.id,
      currentScreen: outcome.screenAfter,
      stateKeyId: sealed.keyId,
      state: sealed.blob,
      rateWindow: rate.window,
      rateCount: rate.count,
      readAtCount: read.session?.requestCount ?? 0,
    };
    const save = sessionUpsert(written, completing);
    const reply: StoredReply = { json: outcome.response, outcome: outcome.outcome };
    const event = () => auditEventOf(trace, input, outcome.outcome, 200, started);
    if (completing && outcome.submission) {
      const submission = outcome.submission;
      try {
        return await deps.sql.transaction(async (tx) => {
          // The token first (locks in erasure's order); a token no longer active, or a session
          // changed since the read, rolls everything back and the request runs again.
          const subjectId = await markTokenCompleted(tx, verified.id);
          if (subjectId === undefined) throw new SessionChangedError();
          if ((await tx.query(save.statement, save.values)).length !== 1) throw new SessionChangedError();
          const submissionId = await this.#storeSubmission(tx, flow, verified, subjectId, submission);
          // Declared consents are recorded with their submission; the completion's audit event names them (src/consents).
          const consents = await recordCompletionConsents(tx, {
            flowId: flow.id,
            consents: flow.consents,
            subjectId,
            submissionId,
            answers: state.answers,
            requestId: input.requestId,
          });
          if (consents.length > 0) trace.detail = { ...trace.detail, consents };
          await deps.audit.appendInRequest(tx, event());
          return reply;
        });
      } catch (err) {
        if (err instanceof SessionChangedError) return changed();
        throw err;
      }
    }
    // The usual step: session upsert and audit event in one statement, its own transaction; when
    // the write is refused, the same statement reads the session as it now is.
    const result = await deps.audit.appendWithWrite(deps.sql, event(), { ...save, otherwise: SESSION_NOW_READ });
    if (!result.written) {
      // Read in the statement's snapshot, the row may predate what refused the write (a commit
      // the write waited for): used only when it explains the refusal, else read again.
      const now = sessionReadOf(result.current);
      const explains =
        now !== undefined &&
        (now.token.status !== 'active' || (now.session?.requestCount ?? 0) !== written.readAtCount);
      return changed(explains ? knownOf(now) : undefined);
    }
    return reply;
  }

  async #storeSubmission(
    tx: SqlTransaction,
    flow: RegisteredFlow,
    token: VerifiedToken,
    subjectId: string,
    submission: Record<string, unknown>,
  ): Promise<string> {
    const id = randomUUID();
    const sealed = this.deps.cipher.seal(JSON.stringify(submission), submissionAad(flow.id, token.id, subjectId, id));
    await insertSubmission(tx, {
      id,
      flowId: flow.id,
      tokenId: token.id,
      subjectId,
      keyId: sealed.keyId,
      ciphertext: sealed.blob,
      fieldNames: fieldNamesOf(submission),
    });
    return id;
  }
}

/** A session as read, with its subject reference worked out once. */
function knownOf(read: SessionRead): KnownSession {
  return {
    read,
    subjectRef: read.subjectSalt ? subjectRef(read.token.subjectId, read.subjectSalt) : undefined,
    stateJson: undefined,
  };
}

/** The additional data that binds a stored submission's ciphertext to its row. */
export function submissionAad(flowId: string, tokenId: string, subjectId: string, submissionId: string): string {
  return `submission|${flowId}|${tokenId}|${subjectId}|${submissionId}`;
}

/**
 * The per-token limit answered in protocol terms (src/protocol/NOTES.md, "Responses"): HTTP 200, the screen the user
 * is on, its last data and an error message. INIT has no current screen: the entry screen already
 * shown (reopening the flow) carries it. When no shown screen can carry it (a very first INIT),
 * the request goes through: any other answer (400, 427) would break the flow, and a 4xx would
 * count as a failed request against WhatsApp's own address.
 */
function tooFast(
  flow: RegisteredFlow,
  request: DecryptedRequest,
  state: { screens: Record<string, Record<string, unknown>> },
): ScreenOutcome | undefined {
  const screenId =
    request.action === 'INIT'
      ? flow.model.entryScreens.find((id) => state.screens[id] !== undefined)
      : request.screen && flow.screens.has(request.screen)
        ? request.screen
        : undefined;
  const lastData = screenId ? state.screens[screenId] : undefined;
  if (!screenId || !lastData) return undefined;
  return {
    response: { screen: screenId, data: { ...lastData, error_message: TOO_FAST_MESSAGE } },
    outcome: 'rate_limited',
    screenAfter: screenId,
    detail: { limit: 'per_token' },
  };
}

const MINUTE_MS = 60_000;

/** This request's minute and the token's requests in it so far, this one included. */
function countRequest(session: { rateWindow: number; rateCount: number } | undefined): {
  window: number;
  count: number;
} {
  const window = Math.floor(Date.now() / MINUTE_MS);
  const before = session && session.rateWindow === window ? session.rateCount : 0;
  return { window, count: before + 1 };
}

function fieldNamesOf(submission: Record<string, unknown>): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(submission)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      Object.keys(value).forEach((inner) => names.push(`${key}.${inner}`));
    } else names.push(key);
  }
  return names;
}
