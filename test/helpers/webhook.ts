import { createHmac, randomBytes } from 'node:crypto';

/**
 * Plays WhatsApp's side of the business webhook: notifications shaped as Meta documents them
 * (Graph API webhooks; Flows webhooks), signed with X-Hub-Signature-256 over the exact bytes.
 */

export function wamid(): string {
  return `wamid.${randomBytes(24).toString('base64url')}`;
}

export interface ReplyOptions {
  readonly messageId?: string;
  readonly flowToken?: string;
  readonly contextId?: string;
  /** The sender's wa_id (digits, no '+'). */
  readonly from?: string;
  readonly answers?: Record<string, unknown>;
  readonly profileName?: string;
  /** Replaces response_json as sent (malformed replies). */
  readonly rawResponseJson?: string;
}

/** A `messages` notification holding one completion reply (`interactive.nfm_reply`). */
export function completionNotification(options: ReplyOptions = {}): Record<string, unknown> {
  const from = options.from ?? '14155550100';
  const response = { ...(options.answers ?? {}), ...(options.flowToken ? { flow_token: options.flowToken } : {}) };
  return messagesNotification(
    [
      {
        ...(options.contextId ? { context: { from: '15550001111', id: options.contextId } } : {}),
        from,
        id: options.messageId ?? wamid(),
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: 'interactive',
        interactive: {
          type: 'nfm_reply',
          nfm_reply: {
            name: 'flow',
            body: 'Sent',
            response_json: options.rawResponseJson ?? JSON.stringify(response),
          },
        },
      },
    ],
    from,
    options.profileName,
  );
}

export function messagesNotification(
  messages: readonly unknown[],
  from = '14155550100',
  profileName = 'Test User',
): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001111', phone_number_id: '106540352242922' },
              contacts: [{ profile: { name: profileName }, wa_id: from }],
              messages,
            },
          },
        ],
      },
    ],
  };
}

/** A `flows` notification (health alert or status change) with `value` as Meta sends it. */
export function flowsNotification(
  value: Record<string, unknown>,
  time = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', time, changes: [{ field: 'flows', value }] }],
  };
}

export function sign(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function postWebhook(
  url: string,
  body: unknown,
  options: { secret?: string; signature?: string | null; contentType?: string } = {},
): Promise<Response> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  const signature =
    options.signature === undefined ? (options.secret ? sign(raw, options.secret) : undefined) : options.signature;
  if (signature !== null && signature !== undefined) headers['x-hub-signature-256'] = signature;
  return fetch(url, { method: 'POST', headers, body: raw });
}
