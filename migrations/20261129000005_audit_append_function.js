// @ts-check
/**
 * `audit_append(chains, events)`: one statement that takes a free chain head (FOR UPDATE SKIP
 * LOCKED, else waits for a random one), chains and inserts the events and moves the head — what
 * src/audit/audit-log.ts did in three statements (five with BEGIN and COMMIT for a group commit).
 * Round trips are what an audited request waits on, most of all on a busy machine.
 *
 * The hash is the one src/audit/chain.ts defines and verify recomputes in Node:
 * SHA-256 hex of `prev_hash|chain|seq|content`, where `content` (the canonical JSON of the event)
 * comes from Node; every other column is stored as before. SECURITY INVOKER: the caller's rights.
 * (No question marks in the SQL: knex would take them for bindings.)
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE FUNCTION audit_append(p_chains integer, p_events jsonb) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
      v_chain smallint;
      v_seq bigint;
      v_prev text;
      v_hash text;
      e jsonb;
    BEGIN
      SELECT chain, seq, hash INTO v_chain, v_seq, v_prev FROM audit_chain_heads
        WHERE chain < p_chains ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
      IF NOT FOUND THEN
        -- Every chain is busy: wait for one. The chain is drawn first: random() in the WHERE clause
        -- would be drawn again when the lock is granted and the updated row re-checked.
        v_chain := floor(random() * p_chains)::smallint;
        SELECT chain, seq, hash INTO v_chain, v_seq, v_prev FROM audit_chain_heads
          WHERE chain = v_chain FOR UPDATE;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'audit chain heads are missing: was the audit log initialised';
        END IF;
      END IF;
      FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        v_seq := v_seq + 1;
        v_hash := encode(sha256(convert_to(v_prev || '|' || v_chain || '|' || v_seq || '|' || (e->>'content'), 'UTF8')), 'hex');
        INSERT INTO audit_events (chain, seq, occurred_at, kind, request_id, flow_id, screen, action, outcome,
                                  http_status, duration_ms, token_hash, subject_ref, fields, detail, prev_hash, hash)
        VALUES (v_chain, v_seq, (e->>'occurred_at')::timestamptz, e->>'kind', e->>'request_id', e->>'flow_id',
                e->>'screen', e->>'action', e->>'outcome', (e->>'http_status')::smallint,
                (e->>'duration_ms')::integer, e->>'token_hash', e->>'subject_ref',
                NULLIF(e->'fields', 'null'::jsonb), NULLIF(e->'detail', 'null'::jsonb), v_prev, v_hash);
        v_prev := v_hash;
      END LOOP;
      UPDATE audit_chain_heads SET seq = v_seq, hash = v_prev WHERE chain = v_chain;
      RETURN v_chain;
    END
    $$`);
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP FUNCTION audit_append(integer, jsonb)');
};
