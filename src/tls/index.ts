/** Native HTTPS for every listener: checked certificate files, a modern policy, reload without restart. */
export { createListener } from './listener';
export { secureContextOptions, TLS_CIPHERS, TLS_MIN_VERSION } from './policy';
export type { Listener, ListenerOptions } from './listener';
export { reloadAllTls, TlsReloader, tlsActive } from './reloader';
export type { TlsReloadLogger } from './reloader';
export { readTlsPair, TlsFilesError } from './tls-files';
export type { TlsFiles, TlsPair } from './tls-files';
