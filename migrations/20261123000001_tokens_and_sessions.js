// @ts-check
/**
 * Flow tokens and their sessions. The token row is the per-token lock (SELECT … FOR UPDATE), so
 * concurrent requests of one token never interleave. `subjects` holds one random salt per person:
 * audit rows carry HMAC(salt, subject), and deleting the salt (right to erasure) leaves them
 * unlinkable without touching the append-only audit log.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('subjects', (t) => {
    t.text('subject_id').primary();
    t.binary('salt').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('flow_tokens', (t) => {
    t.text('id').primary();
    t.text('flow_id').notNullable();
    t.text('subject_id').notNullable().index();
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('issued_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('completed_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw(
    "ALTER TABLE flow_tokens ADD CONSTRAINT flow_tokens_status_check CHECK (status IN ('active', 'completed', 'revoked'))",
  );
  await knex.schema.createTable('flow_sessions', (t) => {
    t.text('token_id').primary().references('id').inTable('flow_tokens').onDelete('CASCADE');
    t.text('flow_id').notNullable();
    t.text('current_screen');
    t.text('state_key_id').notNullable();
    t.binary('state').notNullable();
    t.integer('request_count').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('flow_sessions');
  await knex.schema.dropTable('flow_tokens');
  await knex.schema.dropTable('subjects');
};
