import { createHmac, randomBytes } from 'node:crypto';
import { DevtoolError } from '../errors';

/** The completion reply did not reach the webhook, or the webhook refused it. */
export class DeliveryError extends DevtoolError {}

export interface CompletionDeliveryOptions {
  /** The service's webhook, e.g. `http://127.0.0.1:3000/webhook`. */
  readonly url: string;
  /** Signs the delivery like WhatsApp (X-Hub-Signature-256); undefined: unsigned (development). */
  readonly appSecret: string | undefined;
  readonly token: string;
  /** The user's number as WhatsApp writes `from` (digits, no '+'). */
  readonly from: string;
  readonly out: (line: string) => void;
}

/**
 * What WhatsApp does when a flow closes on the phone (`complete`): it never calls the endpoint;
 * the action's payload plus `flow_token` reaches the business as an `nfm_reply` message on the
 * business webhook, `response_json` being that object as a JSON string, signed with the app secret
 * over the exact bytes (Meta: Flows webhooks, "Flow response message webhook";
 * https://developers.facebook.com/docs/whatsapp/flows/reference/flowswebhooks).
 * Returns the delivered message id.
 */
export async function deliverCompletion(
  options: CompletionDeliveryOptions,
  payload: Readonly<Record<string, unknown>>,
): Promise<string> {
  const messageId = `wamid.sim${randomBytes(18).toString('base64url')}`;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '0',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000000', phone_number_id: '0' },
              contacts: [{ profile: { name: 'Simulator' }, wa_id: options.from }],
              messages: [
                {
                  from: options.from,
                  id: messageId,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'interactive',
                  interactive: {
                    type: 'nfm_reply',
                    nfm_reply: {
                      name: 'flow',
                      body: 'Sent',
                      response_json: JSON.stringify({ ...payload, flow_token: options.token }),
                    },
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.appSecret) {
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', options.appSecret).update(body).digest('hex')}`;
  }
  let status: number;
  try {
    status = (await fetch(options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })).status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new DeliveryError(
      `cannot deliver the completion reply to ${options.url} (${cause ?? (err as Error).message})`,
    );
  }
  if (status !== 200) {
    throw new DeliveryError(
      `the webhook ${options.url} answered ${status} to the completion reply` +
        (status === 401 || status === 403 ? ' (is the app secret the service checks the one used here?)' : ''),
    );
  }
  options.out(`✓ completion reply delivered to ${options.url}${options.appSecret ? ' (signed)' : ''}: 200`);
  return messageId;
}
