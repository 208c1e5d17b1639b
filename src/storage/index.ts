export { openDatabase, migrateLatest, migrateRollback, migrationConfig } from './database';
export type { Database } from './database';
export * from './token-repository';
export * from './submission-repository';
export { toBuffer, toDate, toJson, toNumber } from './rows';
export { DatabaseInUseError } from './pglite-lock';
export { DirectSql, statement } from './direct-sql';
export type { Statement, BoundStatement, SqlQueryable, SqlTransaction, Row } from './direct-sql';
export { isPermissionDenied } from './sql-state';
