import consentStatusSchema from '../../schemas/consent-api-status.json';
import consentWithdrawSchema from '../../schemas/consent-api-withdraw.json';
import issueSchema from '../../schemas/token-api-issue.json';
import revokeSchema from '../../schemas/token-api-revoke.json';
import { bodyChecker } from './api-body';

/** The bodies of the token API (schemas/token-api-*.json) and its consent part (schemas/consent-api-*.json). */
export interface IssueBody {
  readonly flow_id: string;
  readonly phone: string;
  readonly ttl_seconds?: number;
}

export type RevokeBody = { readonly flow_token: string } | { readonly token_id: string } | { readonly phone: string };

export interface ConsentWithdrawBody {
  readonly phone: string;
  readonly purpose: string;
}

export interface ConsentStatusBody {
  readonly phone: string;
}

export type { Checked } from './api-body';

export const checkIssueBody = bodyChecker<IssueBody>(
  issueSchema,
  'token-api-issue',
  'a JSON object: {"flow_id": "...", "phone": "+...", "ttl_seconds": 3600}',
);

export const checkRevokeBody = bodyChecker<RevokeBody>(
  revokeSchema,
  'token-api-revoke',
  'a JSON object with one of "flow_token", "token_id" or "phone"',
);

export const checkConsentWithdrawBody = bodyChecker<ConsentWithdrawBody>(
  consentWithdrawSchema,
  'consent-api-withdraw',
  'a JSON object with "phone" and "purpose"',
);

export const checkConsentStatusBody = bodyChecker<ConsentStatusBody>(
  consentStatusSchema,
  'consent-api-status',
  'a JSON object with "phone"',
);
