import { randomUUID, type KeyObject } from 'node:crypto';
import { redactFields, type AuditEvent, type AuditLog } from '../audit';
import {
  decryptEnvelope,
  encryptResponse,
  EnvelopeDecryptError,
  isValidHubSignature,
  type AtRestCipher,
  type DecryptedEnvelope,
} from '../crypto';
import { statusOf } from '../http/error-status';
import { errorSummary, type Logger } from '../logging';
import {
  CannotDecryptError,
  ERROR_ACK_RESPONSE,
  FlowTokenNoLongerValidError,
  MalformedRequestError,
  PING_RESPONSE,
  ProtocolError,
  ServiceUnavailableError,
  SignatureMismatchError,
  UnknownFlowError,
  isErrorNotification,
  parseJsonSafely,
  type DecryptedRequest,
} from '../protocol';
import {
  insertSubmission,
  markTokenCompleted,
  readSession,
  sessionUpsert,
  type DirectSql,
  type SqlTransaction,
} from '../storage';
import { subjectRef, tokenHash, type FlowTokenCodec, type VerifiedToken } from '../tokens';
import { describeErrors, validateDecryptedRequest, validateEnvelope, validateErrorNotification } from '../validation';
import type { RegisteredFlow, Registry } from './registry';
import { HandlerFailedError, runScreenRequest, type ScreenOutcome } from './screen-runner';
import { emptySessionState, openSessionState, sealSessionState } from './session-state';
import { isDatabaseUnavailable } from './database-errors';
import { HandlerEffects } from './handler-effects';
import { TokenQueue, TokenQueueWaitError } from './token-queue';

export interface FlowHttpRequest {
  readonly flowId: string;
  /** Undefined when the edge refused the body (then `edgeError` says why). */
  readonly rawBody: Buffer | undefined;
  readonly signature: string | undefined;
  readonly requestId: string;
  readonly remoteAddress?: string;
  readonly edgeError?: ProtocolError;
}

export interface FlowHttpResponse {
  readonly status: number;
  readonly body: string;
  readonly contentType: 'text/plain' | 'application/json';
}

/** Reported for every request (metrics, rate limits); no user data. */
export interface RequestObservation {
  readonly flowId: string | undefined;
  readonly screen: string | undefined;
  readonly action: string | undefined;
  readonly outcome: string;
  readonly status: number;
  readonly durationMs: number;
  readonly errorCode: string | undefined;
  readonly remoteAddress: string | undefined;
}

export interface DispatcherDeps {
  readonly registry: Registry;
  /** Current key first, then previous keys (rotation). */
  readonly privateKeys: readonly KeyObject[];
  /** Empty: signatures are not checked (development only; production requires a secret). */
  readonly appSecrets: readonly string[];
  readonly tokens: FlowTokenCodec;
  /** The request path's statements: session read, guarded session write with its audit event, submission. */
  readonly sql: DirectSql;
  readonly audit: AuditLog;
  readonly cipher: AtRestCipher;
  readonly logger: Logger;
  readonly handlerTimeoutMs: number;
  readonly observe?: (observation: RequestObservation) => void;
  /**
   * Requests one flow token may make per minute (RATE_LIMIT_PER_TOKEN_PER_MINUTE); undefined, no
   * limit. Counted in the token's session row, which the request reads and writes anyway.
   */
  readonly perTokenPerMinute?: number;
}

/** What is known about a request so far, for its audit event and log line. */
interface Trace {
  flow?: RegisteredFlow;
  screen?: string;
  action?: string;
  tokenHash?: string;
  subjectRef?: string;
  fields?: Record<string, string>;
  detail?: Record<string, unknown>;
  envelope?: DecryptedEnvelope;
}

/** What a request stored and answers with. */
interface StoredReply {
  readonly json: unknown;
  readonly outcome: string;
}

/** The session changed between this attempt's read and its write: nothing was stored. */
const SESSION_CHANGED = Symbol('session changed');

/** Thrown inside a completion's transaction to roll it back as SESSION_CHANGED. */
class SessionChangedError extends Error {}

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
 * The pure core of the endpoint (DESIGN.md practice 1): raw bytes and headers in, status and body
 * out, never Express objects. Order matters and follows PROTOCOL.md: flow, signature (432, before
 * any RSA work), envelope (400), decryption (421), request schema (400), ping, error notification,
 * flow token (427), then the screen handler between a read of the session and a guarded write.
 * Every request ends in exactly one audit event.
 */
export class Dispatcher {
  readonly #queue = new TokenQueue();

  constructor(private readonly deps: DispatcherDeps) {}

  async handle(input: FlowHttpRequest): Promise<FlowHttpResponse> {
    const started = performance.now();
    const trace: Trace = {};
    try {
      if (input.edgeError) throw input.edgeError;
      const flow = this.deps.registry.get(input.flowId);
      if (!flow) throw new UnknownFlowError(input.flowId);
      trace.flow = flow;
      const body = input.rawBody ?? Buffer.alloc(0);
      this.#checkSignature(body, input.signature);
      const envelope = this.#decrypt(body);
      trace.envelope = envelope;
      const request = this.#parseRequest(envelope.plaintext);
      trace.action = request.action;
      return await this.#route(flow, request, envelope, trace, input, started);
    } catch (err) {
      return this.#reject(err, trace, input, started);
    }
  }

  #checkSignature(body: Buffer, header: string | undefined): void {
    if (this.deps.appSecrets.length === 0) return;
    if (header === undefined) throw new SignatureMismatchError('missing');
    if (!isValidHubSignature(body, header, this.deps.appSecrets)) throw new SignatureMismatchError('mismatch');
  }

  #decrypt(body: Buffer): DecryptedEnvelope {
    let parsed: unknown;
    try {
      parsed = parseJsonSafely(body.toString('utf8'));
    } catch {
      throw new MalformedRequestError('body is not JSON');
    }
    if (!validateEnvelope(parsed))
      throw new MalformedRequestError(`envelope: ${describeErrors(validateEnvelope.errors)}`);
    try {
      return decryptEnvelope(parsed, this.deps.privateKeys);
    } catch (err) {
      if (err instanceof EnvelopeDecryptError) throw new CannotDecryptError(err.reason);
      throw err;
    }
  }

  #parseRequest(plaintext: Buffer): DecryptedRequest {
    let parsed: unknown;
    try {
      parsed = parseJsonSafely(plaintext.toString('utf8'));
    } catch {
      throw new MalformedRequestError('decrypted payload is not JSON');
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    // Error notifications come first: they may carry an action we would otherwise refuse (PROTOCOL.md §3.3).
    if (isErrorNotification(data)) {
      if (!validateErrorNotification(parsed))
        throw new MalformedRequestError(`error notification: ${describeErrors(validateErrorNotification.errors)}`);
      return parsed as DecryptedRequest;
    }
    if (!validateDecryptedRequest(parsed))
      throw new MalformedRequestError(`request: ${describeErrors(validateDecryptedRequest.errors)}`);
    return parsed;
  }

  async #route(
    flow: RegisteredFlow,
    request: DecryptedRequest,
    envelope: DecryptedEnvelope,
    trace: Trace,
    input: FlowHttpRequest,
    started: number,
  ): Promise<FlowHttpResponse> {
    if (isErrorNotification(request.data)) {
      // Recorded, acknowledged, never routed to developer code. The token must be genuine (a
      // forged one gets 427) but may be completed: the client reports errors after completion too.
      const token = await this.deps.tokens.verify(request.flow_token, flow.id);
      trace.tokenHash = tokenHash(token.id);
      trace.screen = this.#knownScreen(flow, request.screen);
      const data = request.data as Record<string, unknown>;
      trace.detail = {
        error_key: clip(data.error_key ?? data.error),
        error_message: clip(data.error_message),
      };
      this.deps.logger.warn('client reported an error about an earlier response', {
        flowId: flow.id,
        screen: trace.screen,
        errorKey: trace.detail.error_key,
        errorMessage: trace.detail.error_message,
        requestId: input.requestId,
      });
      return this.#replyBatched(ERROR_ACK_RESPONSE, 'error_notification', envelope, trace, input, started);
    }
    if (request.action === 'ping') {
      return this.#replyBatched(PING_RESPONSE, 'ping', envelope, trace, input, started);
    }
    const verified = await this.deps.tokens.verify(request.flow_token, flow.id);
    trace.tokenHash = tokenHash(verified.id);
    trace.screen = this.#knownScreen(flow, request.screen);
    return this.#queue.run(
      verified.id,
      () =>
        this.#runInSession(
          flow,
          request as DecryptedRequest & {
            action: 'INIT' | 'BACK' | 'data_exchange';
          },
          verified,
          envelope,
          trace,
          input,
          started,
        ),
      QUEUE_WAIT_MS,
    );
  }

  /**
   * Read, run, write — without holding a connection or a lock while developer code runs (a slow
   * handler once held a pooled connection and the token's row lock for up to HANDLER_TIMEOUT_MS,
   * so ten slow handlers could starve every other request of the pool). The session is read
   * without a lock; the handler runs; the session upsert is guarded by the version read
   * (src/storage/token-repository.ts, UPSERT_SESSION) and sent with the audit event in one
   * statement. Within this process the requests of one token wait for each other (TokenQueue);
   * when a request of the same token served by another process committed in between, nothing is
   * written, the attempt's rollback effects run, and the request runs again on the new state — the
   * order a row lock would have given, at the cost of running the handler again.
   */
  async #runInSession(
    flow: RegisteredFlow,
    request: DecryptedRequest & { action: 'INIT' | 'BACK' | 'data_exchange' },
    verified: VerifiedToken,
    envelope: DecryptedEnvelope,
    trace: Trace,
    input: FlowHttpRequest,
    started: number,
  ): Promise<FlowHttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const effects = new HandlerEffects(this.deps.logger, { flowId: flow.id, requestId: input.requestId });
      let reply: StoredReply | typeof SESSION_CHANGED;
      try {
        reply = await this.#attempt(flow, request, verified, trace, input, started, effects);
      } catch (err) {
        // Nothing of this request was stored: what the handler took outside flowgate goes back.
        effects.rollback();
        throw err;
      }
      if (reply === SESSION_CHANGED) {
        effects.rollback();
        if (attempt >= MAX_ATTEMPTS) throw new ServiceUnavailableError('session kept changing');
        continue;
      }
      // A handler that failed or ran out of time had its result rejected: its commit effects must
      // not run (the user was told something went wrong), its rollback effects must.
      if (reply.outcome === 'handler_failed' || reply.outcome === 'handler_timeout') effects.rollback();
      else effects.commit();
      this.#observe(trace, input, reply.outcome, 200, started, undefined);
      return {
        status: 200,
        contentType: 'text/plain',
        body: encryptResponse(JSON.stringify(reply.json), envelope.aesKey, envelope.iv),
      };
    }
  }

  async #attempt(
    flow: RegisteredFlow,
    request: DecryptedRequest & { action: 'INIT' | 'BACK' | 'data_exchange' },
    verified: VerifiedToken,
    trace: Trace,
    input: FlowHttpRequest,
    started: number,
    effects: HandlerEffects,
  ): Promise<StoredReply | typeof SESSION_CHANGED> {
    const { deps } = this;
    trace.fields = undefined;
    trace.detail = undefined;
    const read = await readSession(deps.sql, verified.id);
    if (!read) throw new FlowTokenNoLongerValidError('unknown');
    // The per-token limit, counted in the session row: exact across workers and instances, and
    // free — the count is written back with the session below (migration 20261129000007).
    const rate = countRequest(read.session);
    const allowed = deps.perTokenPerMinute === undefined || rate.count <= deps.perTokenPerMinute;
    if (read.subjectSalt) trace.subjectRef = subjectRef(read.token.subjectId, read.subjectSalt);
    if (read.token.flowId !== flow.id) throw new FlowTokenNoLongerValidError('wrong_flow');
    if (read.token.status !== 'active') throw new FlowTokenNoLongerValidError(read.token.status);
    if (read.token.expiresAt.getTime() <= Date.now()) throw new FlowTokenNoLongerValidError('expired');

    const state = read.session
      ? openSessionState(deps.cipher, flow.id, verified.id, read.session.stateKeyId, read.session.state)
      : emptySessionState();
    const screen = trace.screen ? flow.screens.get(trace.screen) : undefined;
    // Until the data is known to be valid, no value is kept, not even an allowlisted one.
    const shownBefore = screen ? state.screens[screen.model.id] : undefined;
    if (screen) trace.fields = redactFields(request.data ?? undefined, redactionRules(flow, screen.model.id, false));

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
      });
    }
    if (outcome.detail) trace.detail = outcome.detail;
    if (screen && outcome.outcome !== 'invalid_data' && outcome.outcome !== 'rate_limited') {
      trace.fields = redactFields(request.data ?? undefined, redactionRules(flow, screen.model.id, true, shownBefore));
    }

    const sealed = sealSessionState(deps.cipher, flow.id, verified.id, state);
    const completing = outcome.outcome === 'completed' && outcome.submission !== undefined;
    const save = sessionUpsert(
      {
        tokenId: verified.id,
        flowId: flow.id,
        currentScreen: outcome.screenAfter,
        stateKeyId: sealed.keyId,
        state: sealed.blob,
        rateWindow: rate.window,
        rateCount: rate.count,
        readAtCount: read.session?.requestCount ?? 0,
      },
      completing,
    );
    const reply: StoredReply = { json: outcome.response, outcome: outcome.outcome };
    const event = (): AuditEvent => this.#event(trace, input, outcome.outcome, 200, started);
    if (completing && outcome.submission) {
      const submission = outcome.submission;
      try {
        return await deps.sql.transaction(async (tx) => {
          // The token first (locks in erasure's order); a token no longer active, or a session
          // changed since the read, rolls everything back and the request runs again.
          const subjectId = await markTokenCompleted(tx, verified.id);
          if (subjectId === undefined) throw new SessionChangedError();
          if ((await tx.query(save.statement, save.values)).length !== 1) throw new SessionChangedError();
          await this.#storeSubmission(tx, flow, verified, subjectId, submission);
          await deps.audit.appendInRequest(tx, event());
          return reply;
        });
      } catch (err) {
        if (err instanceof SessionChangedError) return SESSION_CHANGED;
        throw err;
      }
    }
    // The usual step: session upsert and audit event in one statement, its own transaction.
    return (await deps.audit.appendInRequest(deps.sql, event(), save)) ? reply : SESSION_CHANGED;
  }

  async #storeSubmission(
    tx: SqlTransaction,
    flow: RegisteredFlow,
    token: VerifiedToken,
    subjectId: string,
    submission: Record<string, unknown>,
  ): Promise<void> {
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
  }

  async #replyBatched(
    json: unknown,
    outcome: string,
    envelope: DecryptedEnvelope,
    trace: Trace,
    input: FlowHttpRequest,
    started: number,
  ): Promise<FlowHttpResponse> {
    try {
      await this.deps.audit.append(this.#event(trace, input, outcome, 200, started));
    } catch (err) {
      throw new ServiceUnavailableError(`audit not written: ${(err as Error).message}`);
    }
    this.#observe(trace, input, outcome, 200, started, undefined);
    return {
      status: 200,
      contentType: 'text/plain',
      body: encryptResponse(JSON.stringify(json), envelope.aesKey, envelope.iv),
    };
  }

  async #reject(err: unknown, trace: Trace, input: FlowHttpRequest, started: number): Promise<FlowHttpResponse> {
    const error = isDatabaseUnavailable(err)
      ? new ServiceUnavailableError('database')
      : err instanceof TokenQueueWaitError
        ? new ServiceUnavailableError('flow token busy')
        : err;
    const status = statusOf(error);
    const code = error instanceof ProtocolError ? error.code : 'internal_error';
    const outcome = error instanceof HandlerFailedError ? error.outcome : code;
    if (error instanceof HandlerFailedError) trace.detail = { reason: error.message };
    if (status >= 500) {
      // Class, code and stack frames only: a database or library message can quote a value.
      this.deps.logger.error('request failed', {
        requestId: input.requestId,
        flowId: trace.flow?.id,
        outcome,
        error: errorSummary(error),
      });
    } else {
      this.deps.logger.info('request rejected', {
        requestId: input.requestId,
        flowId: trace.flow?.id,
        outcome,
        status,
      });
    }
    if (error instanceof ProtocolError && status < 500) {
      trace.detail = { ...(trace.detail ?? {}), reason: reasonOf(error) };
    }
    try {
      await this.deps.audit.append(this.#event(trace, input, outcome, status, started));
    } catch {
      // Already logged by the audit writer; the rejection stands (it acknowledges nothing).
    }
    this.#observe(trace, input, outcome, status, started, code);
    if (error instanceof FlowTokenNoLongerValidError) {
      // PROTOCOL.md §5.1: both code sources encrypt the 427 body like any response.
      const json = JSON.stringify({ error_msg: error.userMessage });
      const body = trace.envelope ? encryptResponse(json, trace.envelope.aesKey, trace.envelope.iv) : json;
      return {
        status,
        contentType: trace.envelope ? 'text/plain' : 'application/json',
        body,
      };
    }
    return { status, contentType: 'text/plain', body: '' };
  }

  #event(trace: Trace, input: FlowHttpRequest, outcome: string, status: number, started: number): AuditEvent {
    return {
      occurredAt: new Date(),
      kind: 'request',
      requestId: input.requestId,
      flowId: trace.flow?.id,
      screen: trace.screen,
      action: trace.action,
      outcome,
      httpStatus: status,
      durationMs: Math.round(performance.now() - started),
      tokenHash: trace.tokenHash,
      subjectRef: trace.subjectRef,
      fields: trace.fields,
      detail: trace.detail,
    };
  }

  #observe(
    trace: Trace,
    input: FlowHttpRequest,
    outcome: string,
    status: number,
    started: number,
    errorCode: string | undefined,
  ): void {
    this.deps.observe?.({
      flowId: trace.flow?.id,
      screen: trace.screen,
      action: trace.action,
      outcome,
      status,
      durationMs: performance.now() - started,
      errorCode,
      remoteAddress: input.remoteAddress,
    });
  }

  /** A screen id only when the flow has it: request values never reach the audit log verbatim. */
  #knownScreen(flow: RegisteredFlow, screen: string | null | undefined): string | undefined {
    if (!screen) return undefined;
    return flow.screens.has(screen) ? screen : '(unknown)';
  }
}

export function submissionAad(flowId: string, tokenId: string, subjectId: string, submissionId: string): string {
  return `submission|${flowId}|${tokenId}|${subjectId}|${submissionId}`;
}

/**
 * Audit rules for one screen. Allowlisted values (`auditValues`) are kept only once the request's
 * data passed validation (`validated`), and a field whose options come from screen data (a
 * `data-source` bound to `${data.x}`, which the derived schema cannot enumerate) only when the value
 * is one of the option ids this session last showed. Otherwise any text a client sends to an
 * allowlisted field would land verbatim in the append-only audit log. Found by
 * test/component/leakage.test.ts.
 */
function redactionRules(
  flow: RegisteredFlow,
  screenId: string,
  validated: boolean,
  shown?: Readonly<Record<string, unknown>>,
): Parameters<typeof redactFields>[1] & { allowValue: (field: string, value: unknown) => boolean } {
  const screen = flow.screens.get(screenId);
  const allowValue = (field: string, value: unknown): boolean => {
    if (!validated) return false;
    const optionsKey = screen?.model.fields.get(field)?.optionsDataKey;
    if (!optionsKey) return true;
    const options = shown?.[optionsKey];
    return Array.isArray(options) && options.some((o) => (o as { id?: unknown } | null)?.id === value);
  };
  const fieldOfKey: Record<string, string> = {};
  const knownKeys = new Set<string>();
  for (const validator of screen?.incoming ?? []) {
    Object.assign(fieldOfKey, validator.fieldOfKey);
    const schema = validator.validate.schema as {
      properties?: Record<string, unknown>;
    };
    Object.keys(schema.properties ?? {}).forEach((k) => knownKeys.add(k));
  }
  return {
    knownKeys,
    sensitiveKeys: screen?.sensitiveKeys ?? new Set(),
    allowValues: validated ? flow.auditValues : new Set(),
    fieldOfKey,
    allowValue,
  };
}

/**
 * The per-token limit answered in protocol terms (PROTOCOL.md §4.2): HTTP 200, the screen the user
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

function reasonOf(error: ProtocolError): string {
  const r = (error as { reason?: unknown }).reason;
  return typeof r === 'string' ? r.slice(0, 200) : error.code;
}

function clip(value: unknown): string | null {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return typeof value === 'string' ? value.replace(/[\u0000-\u001f]/g, ' ').slice(0, 200) : null;
}
