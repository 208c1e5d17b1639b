// @ts-check
/**
 * The WhatsApp Business webhook (src/webhooks/):
 * - `webhook_messages`: one row per message id already handled, so a redelivery (WhatsApp retries
 *   for up to 36 hours) answers 200 and stores nothing twice. The id is kept as a SHA-256, never as
 *   sent; the row says what became of the message and whether the completion hook finished.
 * - `flow_token_messages`: the id of the flow message the business sent with a token (recorded
 *   through `POST /api/tokens/sent`), hashed the same way, so a completion reply without
 *   `flow_token` (some iOS clients) is linked through its `context.id`. Deleted with its token.
 * - `flow_alert_states`: the latest state of each Meta flow health alert (and the flow's status),
 *   so the alert gauges survive restarts and agree across worker processes.
 * No column holds personal data: hashes, token ids, Meta's numeric flow ids, enums and numbers.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('webhook_messages', (t) => {
    t.text('message_hash').primary();
    t.text('outcome').notNullable();
    t.text('flow_id');
    t.text('token_id');
    t.uuid('submission_id');
    /** How a stored reply found its token: flow_token or context_id. */
    t.text('linked_by');
    /** null: no hook to run; 'pending' until it finished; then 'done', 'failed' or 'timeout'. */
    t.text('hook_status');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).index();
  });
  await knex.schema.createTable('flow_token_messages', (t) => {
    t.text('message_hash').primary();
    t.text('token_id').notNullable().references('id').inTable('flow_tokens').onDelete('CASCADE').index();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('flow_alert_states', (t) => {
    t.text('meta_flow_id').notNullable();
    /** endpoint_error_rate, endpoint_latency, endpoint_availability, client_error_rate, or status. */
    t.text('kind').notNullable();
    /** ACTIVATED / DEACTIVATED for alerts; the flow's status (PUBLISHED, THROTTLED, …) for `status`. */
    t.text('state').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['meta_flow_id', 'kind']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('flow_alert_states');
  await knex.schema.dropTable('flow_token_messages');
  await knex.schema.dropTable('webhook_messages');
};
