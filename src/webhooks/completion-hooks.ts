import type { Knex } from 'knex';
import type { AtRestCipher } from '../crypto';
import { type CompletionReply } from '../flow-api';
import { submissionAad } from '../endpoint';
import { errorSummary, type Logger } from '../logging';
import type { WebhookMetrics } from '../metrics';
import { findSubmission } from '../storage';
import type { StoredReply, UnfinishedHook } from './completion-store';
import type { WebhookRegistry } from './registrations';
import { FlowgateError } from '../errors';

export interface CompletionHooksDeps {
  readonly knex: Knex;
  readonly cipher: AtRestCipher;
  readonly flows: WebhookRegistry;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly timeoutMs: number;
}

type HookOutcome = 'done' | 'failed' | 'timeout';

/**
 * Runs a flow's `onComplete` after its reply is committed. The stored reply never depends on the
 * hook: a throw or a timeout is logged (class and stack frames, never the reply) and counted, and
 * the delivery is still answered 200. The hook's end is written to the reply's delivery row; a row
 * still `pending` long after its timeout means the process stopped meanwhile, and a redelivery of
 * the same message runs the hook again (at least once, as far as WhatsApp redelivers).
 */
export class CompletionHooks {
  constructor(private readonly deps: CompletionHooksDeps) {}

  async run(reply: StoredReply, requestId: string): Promise<HookOutcome | undefined> {
    const hook = reply.flow.flow.definition.onComplete;
    if (typeof hook !== 'function') return undefined;
    const flowId = reply.flow.flow.id;
    const logger = this.deps.logger.child({ flowId, requestId, hook: 'onComplete' });
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const payload: CompletionReply = Object.freeze({
      flowId,
      tokenId: reply.tokenId,
      subject: reply.subject,
      data: reply.data,
      submissionId: reply.submissionId,
      linkedBy: reply.linkedBy,
    });
    let outcome: HookOutcome;
    try {
      await Promise.race([
        Promise.resolve().then(() => hook(payload, { requestId, logger, signal: controller.signal })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new HookTimeoutError(this.deps.timeoutMs)), this.deps.timeoutMs);
        }),
      ]);
      outcome = 'done';
    } catch (err) {
      outcome = err instanceof HookTimeoutError ? 'timeout' : 'failed';
      if (outcome === 'timeout') controller.abort();
      logger.warn('onComplete failed; the reply stays stored', { outcome, error: errorSummary(err) });
    } finally {
      clearTimeout(timer);
    }
    this.deps.metrics.completionHooks.inc({ flow: flowId, outcome });
    this.deps.metrics.completionHookSeconds.observe({ flow: flowId }, (performance.now() - started) / 1000);
    try {
      await this.deps
        .knex('webhook_messages')
        .where({ message_hash: reply.messageHash })
        .update({ hook_status: outcome });
    } catch (err) {
      logger.warn('could not record the end of onComplete', { error: errorSummary(err) });
    }
    return outcome;
  }

  /**
   * A redelivered message whose hook never finished: runs it again from the stored submission,
   * but only once its first run must be over (twice the timeout), so a retry arriving while the
   * first run is still going does not start a second one.
   */
  async resume(unfinished: UnfinishedHook, requestId: string): Promise<HookOutcome | undefined> {
    if (Date.now() - unfinished.receivedAt.getTime() < 2 * this.deps.timeoutMs) return undefined;
    const row = await findSubmission(this.deps.knex, unfinished.submissionId);
    const flow = row ? this.deps.flows.flows.get(row.flowId) : undefined;
    if (!row || !flow) return undefined;
    const plaintext = this.deps.cipher.open(
      { keyId: row.keyId, blob: row.ciphertext },
      submissionAad(row.flowId, row.tokenId, row.subjectId, row.id),
    );
    const data = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
    return this.run(
      {
        flow,
        messageHash: unfinished.messageHash,
        tokenId: row.tokenId,
        subject: row.subjectId,
        submissionId: row.id,
        data: Object.freeze(data),
        linkedBy: unfinished.linkedBy,
      },
      requestId,
    );
  }
}

class HookTimeoutError extends FlowgateError {
  constructor(ms: number) {
    super('hook_timeout', `onComplete did not finish within ${ms} ms`);
  }
}
