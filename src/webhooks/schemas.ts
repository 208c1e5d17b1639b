import { compileSchema } from '../validation';

/*
 * The shapes WhatsApp posts to a business webhook, as far as flowgate reads them. Sources (Meta):
 * - Graph API webhooks, getting started (handshake, X-Hub-Signature-256, retries for up to 36 h,
 *   batches of up to 1000 updates): https://developers.facebook.com/docs/graph-api/webhooks/getting-started
 * - Flows webhooks (the `nfm_reply` completion message; `field: "flows"` alerts FLOW_STATUS_CHANGE,
 *   CLIENT_ERROR_RATE, ENDPOINT_ERROR_RATE, ENDPOINT_LATENCY, ENDPOINT_AVAILABILITY and
 *   FLOW_VERSION_EXPIRY_WARNING): https://developers.facebook.com/docs/whatsapp/flows/reference/flowswebhooks
 * - Flow health and monitoring (what the alerts mean, Throttled/Blocked):
 *   https://developers.facebook.com/docs/whatsapp/flows/guides/healthmonitoring
 *
 * Envelope: {"object":"whatsapp_business_account","entry":[{"id":"<WABA id>","time":<s>,
 *   "changes":[{"field":"messages"|"flows"|…,"value":{…}}]}]}
 * Completion reply (field "messages"): value.messages[] = {"from":"<wa_id>","id":"<wamid>",
 *   "timestamp":"<unix s>","type":"interactive","context":{"from":"…","id":"<wamid of the flow
 *   message>"},"interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent",
 *   "response_json":"<JSON string: the complete action's payload plus flow_token>"}}}.
 *   Some iOS clients omit flow_token from response_json; context.id still names the flow message.
 * Flow alerts (field "flows"): value = {"event":"…","flow_id":"<Meta flow id>","message":"…",
 *   "alert_state":"ACTIVATED"|"DEACTIVATED", and per kind: error_rate, threshold, errors[]
 *   {error_type,error_rate,error_count} (error rates); p50_latency, p90_latency, requests_count,
 *   threshold (latency, ms); availability, threshold (percent); old_status, new_status (status change)}.
 * Fields beyond these are allowed (Meta adds fields) and ignored; lengths are bounded.
 */

const ID = { type: 'string', minLength: 1, maxLength: 512 } as const;
const NUMBER = { type: 'number' } as const;

/** The notification as a whole; each change's value is checked by its own schema below. */
export const validateNotification = compileSchema<Notification>(
  {
    $id: 'flowgate:webhook/notification',
    type: 'object',
    required: ['object', 'entry'],
    properties: {
      object: { type: 'string', maxLength: 100 },
      entry: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          required: ['changes'],
          properties: {
            id: { type: ['string', 'number'] },
            time: NUMBER,
            changes: {
              type: 'array',
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['field', 'value'],
                properties: { field: { type: 'string', maxLength: 100 }, value: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  },
  'flowgate:webhook/notification',
);

/** Any message of a `messages` change: only its id and type are read unless it is an nfm_reply. */
export const validateMessage = compileSchema<IncomingMessage>(
  {
    $id: 'flowgate:webhook/message',
    type: 'object',
    required: ['id'],
    properties: { id: ID, type: { type: 'string', maxLength: 64 } },
  },
  'flowgate:webhook/message',
);

export const validateFlowReply = compileSchema<FlowReplyMessage>(
  {
    $id: 'flowgate:webhook/nfm-reply',
    type: 'object',
    required: ['id', 'interactive'],
    properties: {
      id: ID,
      from: { type: 'string', maxLength: 32 },
      timestamp: { type: 'string', pattern: '^[0-9]{1,12}$' },
      context: { type: 'object', properties: { id: ID, from: { type: 'string', maxLength: 32 } } },
      interactive: {
        type: 'object',
        required: ['type', 'nfm_reply'],
        properties: {
          type: { const: 'nfm_reply' },
          nfm_reply: {
            type: 'object',
            required: ['response_json'],
            properties: {
              name: { type: 'string', maxLength: 100 },
              body: { type: 'string', maxLength: 4096 },
              response_json: { type: 'string', maxLength: 1_000_000 },
            },
          },
        },
      },
    },
  },
  'flowgate:webhook/nfm-reply',
);

const STATUS = { type: 'string', pattern: '^[A-Z_]{1,32}$' } as const;

export const validateFlowAlert = compileSchema<FlowAlert>(
  {
    $id: 'flowgate:webhook/flow-alert',
    type: 'object',
    required: ['event', 'flow_id'],
    properties: {
      event: { type: 'string', pattern: '^[A-Z_]{1,64}$' },
      flow_id: { type: ['string', 'integer'], pattern: '^[0-9]{1,32}$', minimum: 0 },
      message: { type: 'string', maxLength: 2000 },
      warning: { type: 'string', maxLength: 2000 },
      alert_state: { enum: ['ACTIVATED', 'DEACTIVATED'] },
      threshold: NUMBER,
      error_rate: NUMBER,
      p50_latency: NUMBER,
      p90_latency: NUMBER,
      requests_count: NUMBER,
      availability: NUMBER,
      old_status: STATUS,
      new_status: STATUS,
      errors: {
        type: 'array',
        maxItems: 50,
        items: {
          type: 'object',
          properties: {
            error_type: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' },
            error_rate: NUMBER,
            error_count: NUMBER,
          },
        },
      },
    },
  },
  'flowgate:webhook/flow-alert',
);

export interface Notification {
  readonly object: string;
  readonly entry: readonly {
    readonly id?: string | number;
    readonly time?: number;
    readonly changes: readonly { readonly field: string; readonly value: Record<string, unknown> }[];
  }[];
}

export interface IncomingMessage {
  readonly id: string;
  readonly type?: string;
}

export interface FlowReplyMessage {
  readonly id: string;
  readonly from?: string;
  readonly timestamp?: string;
  readonly context?: { readonly id?: string; readonly from?: string };
  readonly interactive: {
    readonly type: 'nfm_reply';
    readonly nfm_reply: { readonly name?: string; readonly body?: string; readonly response_json: string };
  };
}

export interface FlowAlert {
  readonly event: string;
  readonly flow_id: string | number;
  readonly message?: string;
  readonly warning?: string;
  readonly alert_state?: 'ACTIVATED' | 'DEACTIVATED';
  readonly threshold?: number;
  readonly error_rate?: number;
  readonly p50_latency?: number;
  readonly p90_latency?: number;
  readonly requests_count?: number;
  readonly availability?: number;
  readonly old_status?: string;
  readonly new_status?: string;
  readonly errors?: readonly {
    readonly error_type?: string;
    readonly error_rate?: number;
    readonly error_count?: number;
  }[];
}

/** An `nfm_reply` message, told apart from the other messages of a `messages` change. */
export function isFlowReply(message: unknown): boolean {
  const m = message as { type?: unknown; interactive?: { type?: unknown } | null } | null;
  return m?.type === 'interactive' && m.interactive?.type === 'nfm_reply';
}
