// @ts-check
/**
 * The console's data-subject export (src/console/subject.ts) carries what `npm run submissions --
 * export` carries (src/compliance/data-subject.ts): the person's picker files and consent records
 * too. The read-only `flowgate_compliance` role reads neither `media_files` nor `consent_records`;
 * like `compliance_subject_holdings` (20261202000019), one narrow SECURITY DEFINER function per
 * kind gives it exactly one subject's rows, found by the subject id (an HMAC of the phone number
 * under SUBJECT_HASH_KEY: without that key nobody can name a subject to ask about):
 *
 * - `compliance_subject_media(subject)`: the subject's picker files as stored — facts (flow,
 *   token, screen, field, type, size, key id, date) and the sealed name and content, still
 *   encrypted (the console opens them with the service's keyring, as for submissions).
 * - `compliance_subject_consents(subject)`: the subject's consent events, oldest first, with the
 *   columns the CLI export gives (not the request id).
 *
 * Owned by the login that runs migrations, executable by that role only, search_path pinned to
 * this schema (then pg_temp). (No question marks in the SQL: knex bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE FUNCTION compliance_subject_media(p_subject text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
      SELECT COALESCE(jsonb_agg(jsonb_build_object('id', m.id, 'flow_id', m.flow_id, 'token_id', m.token_id,
               'subject_id', m.subject_id, 'screen', m.screen, 'field', m.field, 'media_key', m.media_key,
               'content_type', m.content_type, 'byte_size', m.byte_size, 'key_id', m.key_id,
               'created_at', m.created_at, 'meta', encode(m.meta, 'base64'),
               'ciphertext', encode(m.ciphertext, 'base64')) ORDER BY m.created_at, m.id), '[]'::jsonb)
      FROM media_files m WHERE m.subject_id = p_subject
    $$`);
  await knex.raw(`
    CREATE FUNCTION compliance_subject_consents(p_subject text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
      SELECT COALESCE(jsonb_agg(jsonb_build_object('id', c.id, 'flow_id', c.flow_id, 'purpose', c.purpose,
               'policy_url', c.policy_url, 'policy_version', c.policy_version, 'decision', c.decision,
               'source', c.source, 'occurred_at', c.occurred_at, 'submission_id', c.submission_id)
               ORDER BY c.seq), '[]'::jsonb)
      FROM consent_records c WHERE c.subject_id = p_subject
    $$`);
  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format('ALTER FUNCTION compliance_subject_media(text) SET search_path = %I, pg_temp', current_schema());
      EXECUTE format('ALTER FUNCTION compliance_subject_consents(text) SET search_path = %I, pg_temp', current_schema());
    END $$`);
  for (const fn of ['compliance_subject_media(text)', 'compliance_subject_consents(text)']) {
    await knex.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    await knex.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO flowgate_compliance`);
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP FUNCTION compliance_subject_consents(text)');
  await knex.raw('DROP FUNCTION compliance_subject_media(text)');
};
