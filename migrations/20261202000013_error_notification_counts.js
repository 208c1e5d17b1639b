// @ts-check
/**
 * Error notifications (a client reporting a bad earlier response) are counted on the token they
 * name, whatever its status (active, completed, revoked): one atomic UPDATE both counts and reads
 * the token, exact across workers and instances, with no session row needed (a completed or
 * revoked token keeps none it could write). `notice_window` is the minute (epoch ms / 60000) of
 * `notice_count`; `notice_total` counts over the token's life. src/flows/error-notification.ts
 * audits and logs a token's notifications only within both limits.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('flow_tokens', (t) => {
    t.bigInteger('notice_window').notNullable().defaultTo(0);
    t.integer('notice_count').notNullable().defaultTo(0);
    t.integer('notice_total').notNullable().defaultTo(0);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('flow_tokens', (t) => {
    t.dropColumn('notice_window');
    t.dropColumn('notice_count');
    t.dropColumn('notice_total');
  });
};
