// @ts-check
/**
 * The per-token rate limit's counter lives in the session row it limits: the request already
 * holds that row's lock and writes it back, so counting costs no extra round trip, no second pool
 * connection, and is exact across workers and instances. `rate_window` is the minute
 * (epoch ms / 60000) the count belongs to; a request in a later minute starts from zero.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('flow_sessions', (t) => {
    t.bigInteger('rate_window').notNullable().defaultTo(0);
    t.integer('rate_count').notNullable().defaultTo(0);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('flow_sessions', (t) => {
    t.dropColumn('rate_window');
    t.dropColumn('rate_count');
  });
};
