// @ts-check
/**
 * Files received through PhotoPicker/DocumentPicker, downloaded, checked and decrypted by
 * src/media, then sealed again with the submission keyring (AES-256-GCM, key id per row; the
 * associated data binds each ciphertext to its row, flow, token and subject). `meta` holds the
 * file name, Meta's media id and the file's SHA-256, sealed the same way: no column holds personal
 * data in clear. `token_id` links a file to the submission of the same flow token.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('media_files', (t) => {
    t.uuid('id').primary();
    t.text('flow_id').notNullable();
    t.text('token_id').notNullable();
    t.text('subject_id').notNullable().index();
    t.text('screen').notNullable();
    t.text('field').notNullable();
    /** SHA-256 of token id and Meta's media id: one row per file per token, whatever retries happen. */
    t.text('media_key').notNullable();
    t.text('content_type').notNullable();
    t.integer('byte_size').notNullable();
    t.text('key_id').notNullable();
    t.binary('meta').notNullable();
    t.binary('ciphertext').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).index();
    t.unique(['token_id', 'media_key']);
  });
  await knex.raw(`
    CREATE VIEW media_inventory AS
    SELECT m.id, m.flow_id, s.id AS submission_id, m.screen, m.field, m.content_type, m.byte_size, m.key_id, m.created_at
    FROM media_files m LEFT JOIN submissions s ON s.token_id = m.token_id`);
  await knex.raw('GRANT SELECT ON media_inventory TO flowgate_compliance');
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('REVOKE ALL ON media_inventory FROM flowgate_compliance');
  await knex.raw('DROP VIEW media_inventory');
  await knex.schema.dropTable('media_files');
};
