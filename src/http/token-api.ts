import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import rateLimit from 'express-rate-limit';
import type { AuditLog } from '../audit';
import { InvalidPhoneNumberError, type TokenService } from '../tokens';
import { InvalidTtlError, tokenIdOf, UnknownFlowIdError } from '../tokens/token-service';
import type { Logger } from '../logging';
import { bearerMatches } from './bearer';

/**
 * The token API for the business's messaging system: issue a flow token for a phone number before
 * sending the flow message, revoke one or all of a number's tokens. Bearer-key protected; absent
 * entirely (404) when TOKEN_API_KEY is unset.
 */
export function tokenApiRouter(options: {
  tokens: TokenService;
  apiKey: string;
  audit: AuditLog;
  logger: Logger;
}): Router {
  const router = express.Router();
  router.use(
    '/api/tokens',
    rateLimit({ windowMs: 60_000, limit: 600, standardHeaders: 'draft-8', legacyHeaders: false }),
    (req: Request, res: Response, next: NextFunction) => {
      if (!bearerMatches(req.get('authorization'), options.apiKey)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer key' });
        return;
      }
      next();
    },
    express.json({ limit: 16 * 1024, strict: true, type: () => true }),
  );

  router.post('/api/tokens', async (req: Request, res: Response) => {
    const body = objectBody(req.body);
    if (!body) return badRequest(res, 'body must be a JSON object: {"flow_id": "...", "phone": "+..."}');
    const { flow_id: flowId, phone, ttl_seconds: ttl } = body;
    if (typeof flowId !== 'string' || typeof phone !== 'string')
      return badRequest(res, 'flow_id and phone are required strings');
    if (ttl !== undefined && typeof ttl !== 'number') return badRequest(res, 'ttl_seconds must be a number');
    try {
      const issued = await options.tokens.issue({ flowId, phone, ttlSeconds: ttl });
      await options.audit.append({
        occurredAt: new Date(),
        kind: 'compliance',
        flowId: issued.flowId,
        outcome: 'token_issued',
        detail: { via: 'api', expires_at: issued.expiresAt.toISOString() },
      });
      res.status(201).json({
        flow_token: issued.token,
        token_id: issued.id,
        flow_id: issued.flowId,
        expires_at: issued.expiresAt.toISOString(),
      });
    } catch (err) {
      if (
        err instanceof InvalidPhoneNumberError ||
        err instanceof UnknownFlowIdError ||
        err instanceof InvalidTtlError
      ) {
        return badRequest(res, err.message);
      }
      throw err;
    }
  });

  router.post('/api/tokens/revoke', async (req: Request, res: Response) => {
    const body = objectBody(req.body);
    if (!body) return badRequest(res, 'body must be a JSON object with "flow_token", "token_id" or "phone"');
    try {
      let revoked: number;
      if (typeof body.flow_token === 'string' || typeof body.token_id === 'string') {
        const id = tokenIdOf(String(body.flow_token ?? body.token_id));
        revoked = (await options.tokens.revoke(id)) ? 1 : 0;
      } else if (typeof body.phone === 'string') {
        revoked = await options.tokens.revokeAllFor(body.phone);
      } else {
        return badRequest(res, 'give "flow_token", "token_id" or "phone"');
      }
      await options.audit.append({
        occurredAt: new Date(),
        kind: 'compliance',
        outcome: 'token_revoked',
        detail: { via: 'api', revoked },
      });
      res.json({ revoked });
    } catch (err) {
      if (err instanceof InvalidPhoneNumberError) return badRequest(res, err.message);
      throw err;
    }
  });

  router.use('/api/tokens', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') return badRequest(res, 'body is not valid JSON');
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'body too large' });
    if (typeof type === 'string') return badRequest(res, 'unreadable body');
    options.logger.error('token API failed', { error: err });
    next(err);
  });
  return router;
}

function objectBody(body: unknown): Record<string, unknown> | undefined {
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined;
}

function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: message });
}
