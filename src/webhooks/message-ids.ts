import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * How a WhatsApp message id (`wamid.…`) is kept: its SHA-256, never the id as sent. The same
 * function names a delivered message (deduplication) and a sent flow message (the `context.id`
 * a reply without `flow_token` points back to), so both lookups meet.
 */
export function messageHash(messageId: string): string {
  return createHash('sha256').update(`wamid|${messageId}`, 'utf8').digest('hex');
}

/** What an alert notification is deduplicated by: its entry time and content (it has no id). */
export function alertHash(entryTime: number, value: unknown): string {
  return createHash('sha256')
    .update(`flows|${entryTime}|${JSON.stringify(value)}`, 'utf8')
    .digest('hex');
}

/** Records that the flow message `messageId` was sent with token `tokenId`; false when the token is unknown. */
export async function recordSentMessage(knex: Knex, tokenId: string, messageId: string): Promise<boolean> {
  const token = (await knex('flow_tokens').where({ id: tokenId }).first('id')) as { id: unknown } | undefined;
  if (!token) return false;
  await knex('flow_token_messages')
    .insert({ message_hash: messageHash(messageId), token_id: tokenId })
    .onConflict('message_hash')
    .merge(['token_id']);
  return true;
}

/** The token a sent flow message was recorded with, if any. */
export async function tokenOfSentMessage(knex: Knex, messageId: string): Promise<string | undefined> {
  const row = (await knex('flow_token_messages')
    .where({ message_hash: messageHash(messageId) })
    .first('token_id')) as { token_id: unknown } | undefined;
  return row ? String(row.token_id) : undefined;
}

/** Deduplication rows outlive WhatsApp's 36 hours of retries by a margin, then go. */
export const DELIVERY_MEMORY_DAYS = 7;

/**
 * Deletes deduplication rows past their use, and the sent-message links of tokens that expired as
 * long ago (no reply can still link to them). Returns how many rows went.
 */
export async function forgetOldDeliveries(knex: Knex, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - DELIVERY_MEMORY_DAYS * 86_400_000);
  const deliveries = await knex('webhook_messages').where('received_at', '<', cutoff).delete();
  const links = await knex('flow_token_messages')
    .whereIn('token_id', knex('flow_tokens').where('expires_at', '<', cutoff).select('id'))
    .delete();
  return deliveries + links;
}
