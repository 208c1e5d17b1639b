import type { Request, Response, Router } from 'express';
import type { Knex } from 'knex';
import type { AuditLog } from '../audit';
import { latestPerPurpose, withdrawConsent } from '../consents';
import type { Logger } from '../logging';
import type { RateLimiter } from '../ratelimit';
import { normalizePhoneNumber, subjectOf } from '../tokens';
import { badRequest, bearerJsonApi } from './bearer-api';
import { knownErrorReply } from './error-status';
import { checkConsentStatusBody, checkConsentWithdrawBody } from './token-api-body';

/**
 * The consent part of the token API, for the business's own systems (a "stop" keyword in the
 * chat, a preference centre): withdraw a person's consent to a purpose, or read where their
 * consents stand. Same bearer key as `/api/tokens` (TOKEN_API_KEY), same absence (404) without
 * it, same edge (src/http/bearer-api.ts) and strict bodies (schemas/consent-api-*.json). Phone
 * numbers travel in the body, never in the URL (URLs end up in access logs).
 */
export function consentApiRouter(options: {
  knex: Knex;
  audit: AuditLog;
  logger: Logger;
  apiKey: string;
  subjectHashKey: string;
  /** Purposes the registered flows declare; others are refused (400), a typo must not "succeed". */
  purposes: ReadonlySet<string>;
  /** Requests per address per sliding minute (src/http/bearer-api.ts). */
  limit?: { perMinute: number; rateLimiter?: RateLimiter };
}): Router {
  /** The person's pseudonymous subject, or undefined once a 400 has been sent. */
  const subjectOfPhone = (res: Response, phone: string): string | undefined => {
    try {
      return subjectOf(normalizePhoneNumber(phone), options.subjectHashKey);
    } catch (err) {
      const known = knownErrorReply(err);
      if (!known) throw err;
      res.status(known.status).json(known.body);
      return undefined;
    }
  };

  const gate = { ...options, path: '/api/consents', name: 'consent API', counterPrefix: 'consent_api:' };
  return bearerJsonApi(gate, (router) => {
    router.post('/api/consents/withdraw', async (req: Request, res: Response) => {
      const checked = checkConsentWithdrawBody(req.body);
      if (!checked.ok) return badRequest(res, checked.error);
      const { phone, purpose } = checked.value;
      if (!options.purposes.has(purpose)) {
        return badRequest(
          res,
          `purpose must be one the registered flows declare: ${[...options.purposes].sort().join(', ') || '(none)'}`,
        );
      }
      const subjectId = subjectOfPhone(res, phone);
      if (subjectId === undefined) return;
      const result = await withdrawConsent(options, { subjectId, purpose, source: 'api', actor: { via: 'api' } });
      if (!result.withdrawn) {
        res.json({ withdrawn: false, purpose, status: result.status });
        return;
      }
      res.status(201).json({
        withdrawn: true,
        purpose: result.record.purpose,
        policy_version: result.record.policyVersion,
        consent_id: result.record.id,
        withdrawn_at: result.record.occurredAt.toISOString(),
      });
    });

    router.post('/api/consents/status', async (req: Request, res: Response) => {
      const checked = checkConsentStatusBody(req.body);
      if (!checked.ok) return badRequest(res, checked.error);
      const subjectId = subjectOfPhone(res, checked.value.phone);
      if (subjectId === undefined) return;
      const latest = await latestPerPurpose(options.knex, subjectId);
      res.json({
        consents: latest.map((r) => ({
          purpose: r.purpose,
          decision: r.decision,
          policy_version: r.policyVersion,
          flow_id: r.flowId,
          since: r.occurredAt.toISOString(),
        })),
      });
    });
  });
}
