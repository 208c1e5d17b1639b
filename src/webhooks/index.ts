/** The WhatsApp Business webhook: handshake, signed notifications, completion replies, flow health alerts. */
export { WebhookReceiver } from './receiver';
export type { WebhookReceiverDeps, WebhookPost, WebhookAnswer } from './receiver';
export { webhookRegistry, redactReply } from './registrations';
export type { WebhookRegistry, WebhookFlow } from './registrations';
export { recordSentMessage, messageHash, forgetOldDeliveries, DELIVERY_MEMORY_DAYS } from './message-ids';
export { ALERT_KINDS } from './flow-alerts';
export type { ReplyOutcome } from './completion-store';
