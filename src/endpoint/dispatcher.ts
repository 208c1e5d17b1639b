import type { KeyObject } from 'node:crypto';
import type { AuditLog } from '../audit';
import { encryptResponse, type AtRestCipher, type DecryptedEnvelope, type RsaTimeSink } from '../crypto';
import { httpStatusOf } from '../errors';
import { errorSummary, type Logger } from '../logging';
import type { MediaService } from '../media';
import {
  ERROR_ACK_RESPONSE,
  FlowTokenNoLongerValidError,
  PING_RESPONSE,
  ProtocolError,
  ServiceUnavailableError,
  UnknownFlowError,
  isErrorNotification,
  type DecryptedRequest,
} from '../protocol';
import { isDatabaseUnavailable, type DirectSql } from '../storage';
import { FlowTokenSignatureVerifier, tokenHash, type FlowTokenCodec } from '../tokens';
import {
  assertKnownVersion,
  assertRoutableAction,
  checkTokenSignature,
  ResponseTooLargeError,
  withVersion,
  type TokenSignaturePolicy,
} from './data-api';
import { assessNotification, noticeHashKey } from './error-notification';
import type { FlowHttpRequest, FlowHttpResponse, RequestObservation } from './endpoint-types';
import type { RegisteredFlow, Registry } from './registry';
import { auditEventOf, type Trace } from './request-trace';
import { EnvelopeOpener } from './open-envelope';
import { HandlerFailedError } from './screen-runner';
import { SessionStep, type SessionRequest } from './session-step';
import { TokenQueueWaitError } from './token-queue';

export type { FlowHttpRequest, FlowHttpResponse, RequestObservation } from './endpoint-types';

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
  /** Told the duration of every RSA private-key operation (metrics). */
  readonly rsaTime?: RsaTimeSink;
  /**
   * Requests one flow token may make per minute (RATE_LIMIT_PER_TOKEN_PER_MINUTE); undefined, no
   * limit. Counted in the token's session row, which the request reads and writes anyway.
   */
  readonly perTokenPerMinute?: number;
  /** SUBJECT_HASH_KEY: error notification messages are kept as a hash under a key derived from it. */
  readonly subjectHashKey?: string;
  /** FLOW_TOKEN_SIGNATURE (Data API 4.0); default `verify`: checked when present. */
  readonly tokenSignaturePolicy?: TokenSignaturePolicy;
  /** Picker files for ctx.media (src/media); absent, ctx.media refuses with media_unavailable. */
  readonly media?: MediaService;
}

/**
 * The pure core of the endpoint (src/ARCHITECTURE.md, rule 1): raw bytes and headers in, status and body
 * out, never Express objects. Order matters and follows src/protocol/NOTES.md: flow (404), then
 * opening the envelope (EnvelopeOpener: signature 432 before any RSA work, envelope 400, decryption
 * 421, request schema 400), then routing: ping, error notification, flow token (427), then the screen
 * handler between a read of the session and a guarded write (SessionStep). Every request ends in
 * exactly one audit event.
 */
export class Dispatcher {
  readonly #session: SessionStep;
  readonly #noticeHashKey: Buffer;
  readonly #signatures: FlowTokenSignatureVerifier;
  readonly #envelopes: EnvelopeOpener;

  constructor(private readonly deps: DispatcherDeps) {
    this.#envelopes = new EnvelopeOpener(deps);
    this.#session = new SessionStep(deps);
    this.#noticeHashKey = noticeHashKey(deps.subjectHashKey);
    this.#signatures = new FlowTokenSignatureVerifier(deps.appSecrets);
  }

  async handle(input: FlowHttpRequest): Promise<FlowHttpResponse> {
    const started = performance.now();
    const trace: Trace = {};
    try {
      if (input.edgeError) throw input.edgeError;
      const flow = this.deps.registry.get(input.flowId);
      if (!flow) throw new UnknownFlowError(input.flowId);
      trace.flow = flow;
      const { envelope, request } = this.#envelopes.open(input.rawBody ?? Buffer.alloc(0), input.signature, trace);
      return await this.#route(flow, request, envelope, trace, input, started);
    } catch (err) {
      return this.#reject(err, trace, input, started);
    }
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
      // Acknowledged, never routed to developer code; kept only as key, length and keyed hash,
      // throttled per token (src/endpoint/error-notification.ts). The token must be genuine.
      assertKnownVersion(request, this.deps.logger, input.requestId);
      const token = await this.deps.tokens.verify(request.flow_token, flow.id);
      trace.tokenHash = tokenHash(token.id);
      await this.#checkTokenSignature(flow, request);
      trace.screen = this.#knownScreen(flow, request.screen);
      const notice = await assessNotification(
        { sql: this.deps.sql, hashKey: this.#noticeHashKey, perTokenPerMinute: this.deps.perTokenPerMinute },
        flow.id,
        request,
        token,
        trace,
      );
      if (!notice.audited) {
        this.#observe(trace, input, 'rate_limited', 200, started, undefined);
        return this.#encrypted(withVersion(ERROR_ACK_RESPONSE, request.version), envelope);
      }
      this.deps.logger.warn('client reported an error about an earlier response', {
        flowId: flow.id,
        screen: trace.screen,
        ...trace.detail,
        requestId: input.requestId,
      });
      const ack = withVersion(ERROR_ACK_RESPONSE, request.version);
      return this.#replyBatched(ack, notice.outcome, envelope, trace, input, started);
    }
    if (request.action === 'ping') {
      // Whatever its version: a health check must never fail on one (src/protocol/NOTES.md).
      const pong = withVersion(PING_RESPONSE, request.version);
      return this.#replyBatched(pong, 'ping', envelope, trace, input, started);
    }
    assertKnownVersion(request, this.deps.logger, input.requestId);
    assertRoutableAction(request, this.deps.logger, input.requestId);
    const verified = await this.deps.tokens.verify(request.flow_token, flow.id);
    trace.tokenHash = tokenHash(verified.id);
    await this.#checkTokenSignature(flow, request);
    trace.screen = this.#knownScreen(flow, request.screen);
    const reply = await this.#session.run({
      flow,
      request: request as SessionRequest,
      verified,
      trace,
      input,
      started,
    });
    this.#observe(trace, input, reply.outcome, 200, started, undefined);
    return {
      status: 200,
      contentType: 'text/plain',
      body: encryptResponse(JSON.stringify(withVersion(reply.json, request.version)), envelope.aesKey, envelope.iv),
    };
  }

  #checkTokenSignature(flow: RegisteredFlow, request: DecryptedRequest): Promise<void> {
    return checkTokenSignature(flow.model, request, this.#signatures, this.deps.tokenSignaturePolicy ?? 'verify');
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
      await this.deps.audit.append(auditEventOf(trace, input, outcome, 200, started));
    } catch (err) {
      throw new ServiceUnavailableError(`audit not written: ${(err as Error).message}`);
    }
    this.#observe(trace, input, outcome, 200, started, undefined);
    return this.#encrypted(json, envelope);
  }

  #encrypted(json: unknown, envelope: DecryptedEnvelope): FlowHttpResponse {
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
    const status = httpStatusOf(error);
    const code = error instanceof ProtocolError ? error.code : 'internal_error';
    const outcome =
      error instanceof HandlerFailedError || error instanceof ResponseTooLargeError ? error.outcome : code;
    if (error instanceof HandlerFailedError || error instanceof ResponseTooLargeError)
      trace.detail = { reason: error.message };
    if (trace.unaudited) {
      // A throttled error notification of a refused token: answered and counted, not logged or audited.
    } else if (status >= 500) {
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
      if (!trace.unaudited) await this.deps.audit.append(auditEventOf(trace, input, outcome, status, started));
    } catch {
      // Already logged by the audit writer; the rejection stands (it acknowledges nothing).
    }
    this.#observe(trace, input, outcome, status, started, code);
    if (error instanceof FlowTokenNoLongerValidError) {
      // src/protocol/NOTES.md, "Status codes": both code sources encrypt the 427 body like any response.
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
      ...(trace.noticeKey === undefined ? {} : { noticeKey: trace.noticeKey }),
    });
  }

  /** A screen id only when the flow has it: request values never reach the audit log verbatim. */
  #knownScreen(flow: RegisteredFlow, screen: string | null | undefined): string | undefined {
    if (!screen) return undefined;
    return flow.screens.has(screen) ? screen : '(unknown)';
  }
}

function reasonOf(error: ProtocolError): string {
  const r = (error as { reason?: unknown }).reason;
  return typeof r === 'string' ? r.slice(0, 200) : error.code;
}
