import { loadConfig } from '../config';
import { osAccount } from '../compliance';
import type { AuditActor } from '../audit';
import type { RevokeTarget, TokenService } from '../tokens';
import { CommandError, exitWith, parseCommandLine, runCommand, UsageError, type Io } from './cli';
import { openCliContext } from './context';

const USAGE = `Usage:
  npm run token -- [issue] --flow <flow-id> --phone <+E164> [--ttl <seconds>] [--url <service>] [--json]
  npm run token -- revoke (--token <flow token> | --id <token id> | --phone <+E164>) [--url <service>]

issue    prints a new flow token for the phone number (stdout: the token only, unless --json)
revoke   revokes one token, or every active token of a phone number

--url    go through a running service's token API (needed while it holds the embedded
         database); the bearer key is TOKEN_API_KEY (generated in keys/ outside production)`;

export async function tokenCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    flow: { type: 'string' },
    phone: { type: 'string' },
    ttl: { type: 'string' },
    token: { type: 'string' },
    id: { type: 'string' },
    url: { type: 'string' },
    json: { type: 'boolean' },
  });
  const action = positionals[0] ?? 'issue';
  if (positionals.length > 1 || !['issue', 'revoke'].includes(action))
    throw new UsageError(`unknown action "${positionals.join(' ')}"`);
  if (action === 'issue') {
    if (!values.flow || !values.phone) throw new UsageError('issue needs --flow and --phone');
    const ttl = values.ttl === undefined ? undefined : parseTtl(values.ttl);
    const issued = values.url
      ? await viaApi(values.url, '/api/tokens', { flow_id: values.flow, phone: values.phone, ttl_seconds: ttl })
      : await issueDirect(values.flow, values.phone, ttl);
    if (values.json) io.out(JSON.stringify(issued));
    else {
      io.out(String(issued.flow_token));
      io.err(
        `token ${String(issued.token_id)} for flow ${String(issued.flow_id)}, expires ${String(issued.expires_at)}`,
      );
    }
    return 0;
  }
  const chosen = [values.token, values.id, values.phone].filter((v) => v !== undefined);
  if (chosen.length !== 1) throw new UsageError('revoke needs exactly one of --token, --id, --phone');
  const tokenOrId = String(values.token ?? values.id);
  const result = values.url
    ? await viaApi(values.url, '/api/tokens/revoke', values.phone ? { phone: values.phone } : { token_id: tokenOrId })
    : await revokeDirect(values.phone ? { phone: values.phone } : { tokenOrId });
  io.out(`revoked ${String(result.revoked)} token(s)`);
  return 0;
}

function parseTtl(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError('--ttl must be a whole number of seconds');
  return Number(value);
}

/** Who acts from this command line: recorded with each issue and revocation. */
const cliActor = (): AuditActor => ({ via: 'cli', osUser: osAccount() });

async function issueDirect(
  flowId: string,
  phone: string,
  ttlSeconds: number | undefined,
): Promise<Record<string, unknown>> {
  return withTokens(async (tokens) => {
    const issued = await tokens.issue({ flowId, phone, ttlSeconds }, cliActor());
    return {
      flow_token: issued.token,
      token_id: issued.id,
      flow_id: issued.flowId,
      expires_at: issued.expiresAt.toISOString(),
    };
  });
}

async function revokeDirect(target: RevokeTarget): Promise<{ revoked: number }> {
  return withTokens(async (tokens) => ({ revoked: await tokens.revoke(target, cliActor()) }));
}

/** The token service on the service's own database (its errors are the catalogue's: src/errors). */
async function withTokens<T>(fn: (tokens: TokenService) => Promise<T>): Promise<T> {
  const ctx = await openCliContext();
  try {
    return await fn(ctx.tokens);
  } finally {
    await ctx.close();
  }
}

async function viaApi(baseUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const key = loadConfig().tokenApiKey?.reveal();
  if (!key) throw new CommandError('TOKEN_API_KEY is not set');
  let url: URL;
  try {
    url = new URL(path, baseUrl);
  } catch {
    throw new UsageError(`--url "${baseUrl}" is not a URL`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new CommandError(`cannot reach ${url.origin}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CommandError(`${url.origin} answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) throw new CommandError(`${url.origin} answered ${res.status}: ${String(json.error ?? 'error')}`);
  return json;
}

if (require.main === module) exitWith(runCommand(USAGE, tokenCommand));
