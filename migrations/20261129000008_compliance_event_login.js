// @ts-check
/**
 * A compliance event that names a person (`detail.operator`, typed by whoever ran the command) or
 * a database login (`detail.database_user`) must carry the login that actually writes it:
 * `detail.database_user` equal to `session_user`, which PostgreSQL authenticated and SET ROLE does
 * not change. A login with write access to the audit table can still type any operator name, but
 * cannot write an event under another officer's login; the hash chain covers `detail`, so the
 * value cannot be changed afterwards without verify noticing. Events that name nobody (those of
 * the token API, written by the service) are not affected. (No question marks in the SQL: knex
 * would take them for bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE FUNCTION audit_compliance_login() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (NEW.detail -> 'operator' IS NOT NULL OR NEW.detail -> 'database_user' IS NOT NULL)
         AND (NEW.detail ->> 'database_user') IS DISTINCT FROM session_user::text THEN
        RAISE EXCEPTION 'a compliance event naming an operator must carry the login that writes it (detail.database_user = session_user)'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END
    $$`);
  await knex.raw(
    "CREATE TRIGGER audit_events_compliance_login BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.kind = 'compliance') EXECUTE FUNCTION audit_compliance_login()",
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP TRIGGER audit_events_compliance_login ON audit_events');
  await knex.raw('DROP FUNCTION audit_compliance_login()');
};
