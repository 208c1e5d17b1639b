// @ts-check
/**
 * Every compliance event carries the login that writes it: `detail.database_user` must equal
 * `session_user`, which PostgreSQL authenticated and SET ROLE does not change (the audit log adds
 * the login of the connection it writes on, src/audit/audit-log.ts). A login with write access to the audit
 * table can still type any operator name, but cannot write a compliance event under another
 * login; the hash chain covers `detail`, so the value cannot be changed afterwards without verify
 * noticing. `kind` is limited to the two kinds there are, so no event escapes the check by
 * spelling. (No question marks in the SQL: knex would take them for bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  // NOT VALID, then VALIDATE: a long audit table is checked without blocking the inserts of requests.
  await knex.raw(
    "ALTER TABLE audit_events ADD CONSTRAINT audit_events_kind CHECK (kind IN ('request', 'compliance')) NOT VALID",
  );
  await knex.raw('ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_kind');
  await knex.raw(`
    CREATE FUNCTION audit_compliance_login() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF jsonb_typeof(NEW.detail) IS DISTINCT FROM 'object'
         OR (NEW.detail ->> 'database_user') IS DISTINCT FROM session_user::text THEN
        RAISE EXCEPTION 'a compliance event must carry the login that writes it (detail.database_user = session_user)'
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
  await knex.raw('ALTER TABLE audit_events DROP CONSTRAINT audit_events_kind');
};
