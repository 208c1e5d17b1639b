/** Wire shapes of data_api_version 3.0 and 4.0 (src/protocol/NOTES.md). Meta's snake_case stays inside protocol/. */

export const FLOW_ACTIONS = ['ping', 'INIT', 'BACK', 'data_exchange'] as const;
export type FlowAction = (typeof FLOW_ACTIONS)[number];

/** Data API versions flowgate serves; a ping is answered whatever its version. */
export const DATA_API_VERSIONS = ['3.0', '4.0'] as const;
export type DataApiVersion = (typeof DATA_API_VERSIONS)[number];

export function isKnownDataApiVersion(version: unknown): version is DataApiVersion {
  return (DATA_API_VERSIONS as readonly unknown[]).includes(version);
}

export function isFlowAction(action: unknown): action is FlowAction {
  return (FLOW_ACTIONS as readonly unknown[]).includes(action);
}

/** A decrypted request after schema validation (schemas/decrypted-request.json). */
export interface DecryptedRequest {
  readonly version: string;
  readonly action: FlowAction;
  /** Absent, null and "" all mean "no screen" (src/protocol/NOTES.md, "Requests"). */
  readonly screen?: string | null;
  readonly data?: Record<string, unknown> | null;
  readonly flow_token?: string;
  /** Data API 4.0 with Flow JSON ≥ 7.3: an HS256 JWT over the flow token (src/protocol/NOTES.md). */
  readonly flow_token_signature?: string;
}

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** §4.1/§4.2: the next (or same) screen with its data; `error_message` shows a snackbar. */
export interface ScreenResponse {
  readonly screen: string;
  readonly data: Record<string, unknown>;
}

/** §4.3: completion; every `params` key reaches the completion webhook. */
export interface CompletionResponse {
  readonly screen: 'SUCCESS';
  readonly data: {
    readonly extension_message_response: { readonly params: Record<string, unknown> & { flow_token: string } };
  };
}

export const PING_RESPONSE = { data: { status: 'active' } } as const;
export const ERROR_ACK_RESPONSE = { data: { acknowledged: true } } as const;

/** §3.3: any of these keys in `data` marks an error notification from the client. */
export const ERROR_NOTIFICATION_KEYS = ['error', 'error_key', 'error_message'] as const;

export function isErrorNotification(data: unknown): boolean {
  return (
    data !== null &&
    typeof data === 'object' &&
    !Array.isArray(data) &&
    ERROR_NOTIFICATION_KEYS.some((k) => Object.prototype.hasOwnProperty.call(data, k))
  );
}

/** The screen id reserved for completion (src/protocol/NOTES.md, "Requests" and "Responses"). */
export const SUCCESS_SCREEN = 'SUCCESS';
