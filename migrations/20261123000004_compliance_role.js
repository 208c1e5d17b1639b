// @ts-check
/**
 * A read-only role for compliance staff: SELECT on the audit tables and the documented views,
 * nothing on submissions' ciphertext, tokens, sessions or subjects (their salts). Give a person
 * access with `CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE flowgate_compliance`.
 * Roles are cluster-wide, so the role is created only when missing and kept on rollback if
 * another schema still grants it something.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flowgate_compliance') THEN
        CREATE ROLE flowgate_compliance NOLOGIN;
      END IF;
    END $$`);
  await knex.raw(`
    CREATE VIEW audit_daily_outcomes AS
    SELECT flow_id, date_trunc('day', occurred_at) AS day, outcome, http_status,
           count(*) AS events, round(avg(duration_ms)) AS avg_duration_ms, max(duration_ms) AS max_duration_ms
    FROM audit_events WHERE kind = 'request'
    GROUP BY flow_id, date_trunc('day', occurred_at), outcome, http_status`);
  await knex.raw(`
    CREATE VIEW audit_subject_events AS
    SELECT subject_ref, occurred_at, kind, flow_id, screen, action, outcome, http_status, request_id, fields
    FROM audit_events WHERE subject_ref IS NOT NULL`);
  await knex.raw(`
    CREATE VIEW compliance_actions AS
    SELECT occurred_at, outcome, detail FROM audit_events WHERE kind = 'compliance'`);
  await knex.raw(`
    CREATE VIEW submission_inventory AS
    SELECT id, flow_id, created_at, key_id, field_names FROM submissions`);
  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO flowgate_compliance', current_schema());
    END $$`);
  await knex.raw(
    'GRANT SELECT ON audit_events, audit_chain_heads, audit_daily_outcomes, audit_subject_events, compliance_actions, submission_inventory TO flowgate_compliance',
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw(
    'REVOKE ALL ON audit_events, audit_chain_heads, audit_daily_outcomes, audit_subject_events, compliance_actions, submission_inventory FROM flowgate_compliance',
  );
  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM flowgate_compliance', current_schema());
    END $$`);
  for (const view of ['submission_inventory', 'compliance_actions', 'audit_subject_events', 'audit_daily_outcomes']) {
    await knex.raw(`DROP VIEW ${view}`);
  }
  await knex.raw(`
    DO $$ BEGIN
      DROP ROLE IF EXISTS flowgate_compliance;
    EXCEPTION WHEN dependent_objects_still_exist THEN
      NULL; -- another schema still grants it privileges
    END $$`);
};
