// @ts-check
/**
 * Rate-limit counters shared by every worker and instance when DATABASE_URL is set (REDIS_URL
 * takes precedence; PGlite uses process memory). One row per key and fixed window, bumped by an
 * atomic upsert. UNLOGGED: no WAL for counters; a crash that empties the table only resets limits.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE UNLOGGED TABLE rate_limit_counters (
      key text PRIMARY KEY,
      count bigint NOT NULL,
      expires_at timestamptz NOT NULL
    )
  `);
  await knex.raw('CREATE INDEX rate_limit_counters_expires_at ON rate_limit_counters (expires_at)');
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rate_limit_counters');
};
