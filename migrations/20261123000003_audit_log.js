// @ts-check
/**
 * The audit log: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, whoever asks) and
 * tamper-evident (each row's hash covers its content and the previous row's hash). Rows spread
 * over several chains so concurrent writers do not queue on one lock; `audit_chain_heads` holds
 * each chain's tail and is the lock a writer takes.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('audit_events', (t) => {
    t.smallint('chain').notNullable();
    t.bigInteger('seq').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('kind').notNullable();
    t.text('request_id');
    t.text('flow_id');
    t.text('screen');
    t.text('action');
    t.text('outcome').notNullable();
    t.smallint('http_status');
    t.integer('duration_ms');
    t.text('token_hash');
    t.text('subject_ref');
    t.jsonb('fields');
    t.jsonb('detail');
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable();
    t.primary(['chain', 'seq']);
    t.index(['occurred_at']);
    t.index(['flow_id', 'occurred_at']);
    t.index(['subject_ref']);
  });
  await knex.schema.createTable('audit_chain_heads', (t) => {
    t.smallint('chain').primary();
    t.bigInteger('seq').notNullable();
    t.text('hash').notNullable();
  });
  await knex.raw(`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`);
  await knex.raw(
    'CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()',
  );
  await knex.raw(
    'CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()',
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('audit_chain_heads');
  await knex.schema.dropTable('audit_events');
  await knex.raw('DROP FUNCTION audit_events_append_only()');
};
