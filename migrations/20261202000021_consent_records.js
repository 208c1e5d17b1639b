// @ts-check
/**
 * Consent records (GDPR Art. 7(1): the business must be able to show that a person consented, to
 * what, when and under which policy text — and when they withdrew). One row per event: granted or
 * declined with a submission, withdrawn through the CLI, the token API or an erasure. `seq` orders
 * events that share a timestamp. Append-only: the one change allowed is dropping the link to a
 * submission (erasure deletes the submission; the consent stays as proof). The `consents` view is
 * what the read-only flowgate_compliance role reads. (No question marks in the SQL: knex would
 * take them for bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE consent_records (
      id uuid PRIMARY KEY,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      subject_id text NOT NULL,
      flow_id text NOT NULL,
      purpose text NOT NULL,
      policy_url text,
      policy_version text NOT NULL,
      decision text NOT NULL CHECK (decision IN ('granted', 'declined', 'withdrawn')),
      source text NOT NULL CHECK (source IN ('submission', 'cli', 'api', 'erasure', 'console')),
      occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      submission_id uuid,
      request_id text
    )`);
  await knex.raw('CREATE INDEX consent_records_subject_purpose ON consent_records (subject_id, purpose, seq)');
  await knex.raw('CREATE INDEX consent_records_purpose_time ON consent_records (purpose, occurred_at)');
  await knex.raw(`
    CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.submission_id IS NULL
         AND (NEW.id, NEW.seq, NEW.subject_id, NEW.flow_id, NEW.purpose, NEW.policy_url, NEW.policy_version,
              NEW.decision, NEW.source, NEW.occurred_at, NEW.request_id)
             IS NOT DISTINCT FROM
             (OLD.id, OLD.seq, OLD.subject_id, OLD.flow_id, OLD.purpose, OLD.policy_url, OLD.policy_version,
              OLD.decision, OLD.source, OLD.occurred_at, OLD.request_id) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'consent records are append-only (only the link to an erased submission may be dropped)'
        USING ERRCODE = 'insufficient_privilege';
    END
    $$`);
  await knex.raw(
    'CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()',
  );
  await knex.raw(`
    CREATE VIEW consents AS
    SELECT id, seq, subject_id, flow_id, purpose, policy_url, policy_version, decision, source, occurred_at, submission_id
    FROM consent_records`);
  await knex.raw('GRANT SELECT ON consents TO flowgate_compliance');
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('REVOKE ALL ON consents FROM flowgate_compliance');
  await knex.raw('DROP VIEW consents');
  await knex.raw('DROP TABLE consent_records');
  await knex.raw('DROP FUNCTION consent_records_append_only()');
};
