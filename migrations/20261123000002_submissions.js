// @ts-check
/**
 * Completed submissions, encrypted (AES-256-GCM, key id per row so keys rotate). No column holds
 * plaintext personal data: `field_names` lists which fields were submitted, never their values.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('submissions', (t) => {
    t.uuid('id').primary();
    t.text('flow_id').notNullable();
    t.text('token_id').notNullable();
    t.text('subject_id').notNullable().index();
    t.text('key_id').notNullable();
    t.binary('ciphertext').notNullable();
    t.jsonb('field_names').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).index();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('submissions');
};
