// @ts-check
/**
 * The compliance console (src/console/) reads as the read-only `flowgate_compliance` role. What it
 * must still do beyond the role's SELECT grants goes through four narrow SECURITY DEFINER
 * functions, each owned by the login that runs migrations and executable by that role only:
 *
 * - `console_audit_append(chains, events)`: appends the console's own audit events (page views,
 *   exports, sign-ins). Only `kind = 'compliance'` events with `detail.via = 'console'`, stamped
 *   within five minutes of now, whose hashed content says exactly what the columns say: the role
 *   cannot write a request event, back-date an event or pass itself off as a CLI action. The login
 *   trigger (20261129000008) still requires `detail.database_user = session_user`, which a
 *   SECURITY DEFINER function does not change.
 * - `compliance_subject_salt(subject)`: the salt of one pseudonymous subject, to find that
 *   person's audit rows (subject_ref) from a phone number the console was given.
 * - `compliance_subject_holdings(subject)`: one subject's tokens, sessions and submissions, the
 *   latter two still encrypted, for the data-subject page (metadata) and its export (decrypted
 *   by the console with the service's keyring, then sent as a download).
 * Each takes the subject id, an HMAC of the phone number under SUBJECT_HASH_KEY: without that key
 * nobody can name a subject to ask about.
 *
 * `console_users`: the console's sign-in credentials (scrypt hashes), managed by
 * `npm run console -- add-user` with the service's login; the role may only read them.
 *
 * Every function pins its search_path to this schema (then pg_temp), so a temporary table of the
 * caller's cannot stand in for one of flowgate's. (No question marks in the SQL: knex bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('console_users', (t) => {
    t.text('username').primary();
    t.text('password_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('password_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('GRANT SELECT ON console_users TO flowgate_compliance');

  await knex.raw(`
    CREATE FUNCTION console_audit_append(p_chains integer, p_events jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER AS $$
    DECLARE
      e jsonb;
      c jsonb;
      k text;
    BEGIN
      IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' OR jsonb_array_length(p_events) = 0 THEN
        RAISE EXCEPTION 'console_audit_append takes a non-empty array of events';
      END IF;
      FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        c := (e ->> 'content')::jsonb;
        IF (e ->> 'kind') IS DISTINCT FROM 'compliance' OR (e -> 'detail' ->> 'via') IS DISTINCT FROM 'console' THEN
          RAISE EXCEPTION 'the console writes only its own compliance events' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (SELECT count(*) FROM jsonb_object_keys(c)) <> 13 THEN
          RAISE EXCEPTION 'event content has unexpected keys' USING ERRCODE = 'insufficient_privilege';
        END IF;
        FOREACH k IN ARRAY ARRAY['kind', 'occurred_at', 'request_id', 'flow_id', 'screen', 'action', 'outcome',
                                 'http_status', 'duration_ms', 'token_hash', 'subject_ref', 'fields', 'detail'] LOOP
          IF (c -> k) IS DISTINCT FROM COALESCE(e -> k, 'null'::jsonb) THEN
            RAISE EXCEPTION 'event content does not match its columns (%)', k USING ERRCODE = 'insufficient_privilege';
          END IF;
        END LOOP;
        IF abs(extract(epoch FROM ((e ->> 'occurred_at')::timestamptz - now()))) > 300 THEN
          RAISE EXCEPTION 'a console event must be stamped with the current time' USING ERRCODE = 'insufficient_privilege';
        END IF;
      END LOOP;
      RETURN audit_append(p_chains, p_events);
    END
    $$`);

  await knex.raw(`
    CREATE FUNCTION compliance_subject_salt(p_subject text) RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
      SELECT salt FROM subjects WHERE subject_id = p_subject
    $$`);

  await knex.raw(`
    CREATE FUNCTION compliance_subject_holdings(p_subject text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER AS $$
      SELECT jsonb_build_object(
        'tokens', COALESCE((
          SELECT jsonb_agg(jsonb_build_object('id', t.id, 'flow_id', t.flow_id, 'status', t.status,
                   'issued_at', t.issued_at, 'expires_at', t.expires_at, 'completed_at', t.completed_at,
                   'revoked_at', t.revoked_at) ORDER BY t.issued_at, t.id)
          FROM flow_tokens t WHERE t.subject_id = p_subject), '[]'::jsonb),
        'sessions', COALESCE((
          SELECT jsonb_agg(jsonb_build_object('token_id', s.token_id, 'flow_id', s.flow_id,
                   'current_screen', s.current_screen, 'created_at', s.created_at, 'updated_at', s.updated_at,
                   'state_key_id', s.state_key_id, 'state', encode(s.state, 'base64')) ORDER BY s.created_at, s.token_id)
          FROM flow_sessions s JOIN flow_tokens t ON t.id = s.token_id WHERE t.subject_id = p_subject), '[]'::jsonb),
        'submissions', COALESCE((
          SELECT jsonb_agg(jsonb_build_object('id', m.id, 'flow_id', m.flow_id, 'token_id', m.token_id,
                   'subject_id', m.subject_id, 'key_id', m.key_id, 'field_names', m.field_names,
                   'created_at', m.created_at, 'ciphertext', encode(m.ciphertext, 'base64')) ORDER BY m.created_at, m.id)
          FROM submissions m WHERE m.subject_id = p_subject), '[]'::jsonb))
    $$`);

  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format('ALTER FUNCTION console_audit_append(integer, jsonb) SET search_path = %I, pg_temp', current_schema());
      EXECUTE format('ALTER FUNCTION compliance_subject_salt(text) SET search_path = %I, pg_temp', current_schema());
      EXECUTE format('ALTER FUNCTION compliance_subject_holdings(text) SET search_path = %I, pg_temp', current_schema());
    END $$`);
  for (const fn of [
    'console_audit_append(integer, jsonb)',
    'compliance_subject_salt(text)',
    'compliance_subject_holdings(text)',
  ]) {
    await knex.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    await knex.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO flowgate_compliance`);
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP FUNCTION compliance_subject_holdings(text)');
  await knex.raw('DROP FUNCTION compliance_subject_salt(text)');
  await knex.raw('DROP FUNCTION console_audit_append(integer, jsonb)');
  await knex.raw('REVOKE ALL ON console_users FROM flowgate_compliance');
  await knex.schema.dropTable('console_users');
};
