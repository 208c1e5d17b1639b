import type { Request, Response, Router } from 'express';
import type { TokenService } from '../tokens';
import type { Logger } from '../logging';
import type { RateLimiter } from '../ratelimit';
import { badRequest, bearerJsonApi } from './bearer-api';
import { knownErrorReply } from './error-status';
import { checkIssueBody, checkRevokeBody } from './token-api-body';

/**
 * The token API for the business's messaging system: issue a flow token for a phone number before
 * sending the flow message, revoke one or all of a number's tokens. Bearer-key protected; absent
 * entirely (404) when TOKEN_API_KEY is unset. Bodies are checked against strict schemas
 * (src/http/token-api-body.ts): unknown fields and prototype keys are 400, never ignored. Issuing
 * and revoking, with their audit events, are the token service's (src/tokens/token-service.ts).
 */
export function tokenApiRouter(options: {
  tokens: TokenService;
  apiKey: string;
  logger: Logger;
  /** Requests per address per sliding minute (src/http/bearer-api.ts). */
  limit?: { perMinute: number; rateLimiter?: RateLimiter };
}): Router {
  const gate = { ...options, path: '/api/tokens', name: 'token API', counterPrefix: 'token_api:' };
  return bearerJsonApi(gate, (router) => {
    router.post('/api/tokens', async (req: Request, res: Response) => {
      const checked = checkIssueBody(req.body);
      if (!checked.ok) return badRequest(res, checked.error);
      const { flow_id: flowId, phone, ttl_seconds: ttl } = checked.value;
      try {
        const issued = await options.tokens.issue({ flowId, phone, ttlSeconds: ttl }, { via: 'api' });
        res.status(201).json({
          flow_token: issued.token,
          token_id: issued.id,
          flow_id: issued.flowId,
          expires_at: issued.expiresAt.toISOString(),
        });
      } catch (err) {
        const known = knownErrorReply(err);
        if (known) return void res.status(known.status).json(known.body);
        throw err;
      }
    });

    router.post('/api/tokens/revoke', async (req: Request, res: Response) => {
      const checked = checkRevokeBody(req.body);
      if (!checked.ok) return badRequest(res, checked.error);
      const body = checked.value;
      try {
        const target =
          'phone' in body
            ? { phone: body.phone }
            : { tokenOrId: 'flow_token' in body ? body.flow_token : body.token_id };
        res.json({ revoked: await options.tokens.revoke(target, { via: 'api' }) });
      } catch (err) {
        const known = knownErrorReply(err);
        if (known) return void res.status(known.status).json(known.body);
        throw err;
      }
    });
  });
}
