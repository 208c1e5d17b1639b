/** The compliance console: a read-only web page for compliance staff (README "Compliance console"). */
export { startConsole } from './console-server';
export type { ConsoleServer } from './console-server';
export { consoleApp } from './console-app';
export { ConsoleDb, COMPLIANCE_ROLE } from './console-db';
export { ConsoleAudit } from './console-audit';
export { SessionStore } from './sessions';
export { hashPassword, verifyPassword, assertAcceptablePassword, WeakPasswordError } from './passwords';
export { addUser, setPassword, removeUser, listUsers, UserError, USERNAME_PATTERN } from './users';
