import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { readTlsPair, TlsFilesError, type TlsFiles, type TlsPair } from './tls-files';
import { secureContextOptions } from './policy';

export interface TlsReloadLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

const DEFAULT_WATCH_INTERVAL_MS = 2000;

/** Every reloader of this process, so that one SIGHUP handler reloads them all. */
const active = new Set<TlsReloader>();
let sighupInstalled = false;

/**
 * Swaps a server's certificate without a restart. Triggers: SIGHUP (what `systemctl reload` and
 * most tooling send) and a change of either file, found by polling their stat — polling, not
 * inotify, because certificate tools and Kubernetes secret mounts replace files by rename or by
 * swapping a symlink, which an inotify watch on the old inode never sees. A new pair is checked
 * exactly as at start; one that fails (expired, mismatched, or caught half-written: the certificate
 * renewed but not yet its key) is logged and the current pair keeps serving.
 */
export class TlsReloader {
  #current: TlsPair;
  #stopped = false;
  readonly #listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) this.reload('file change');
  };

  constructor(
    private readonly server: HttpsServer,
    private readonly files: TlsFiles,
    initial: TlsPair,
    private readonly logger: TlsReloadLogger | undefined,
    private readonly watchIntervalMs = DEFAULT_WATCH_INTERVAL_MS,
  ) {
    this.#current = initial;
  }

  /** The pair new connections get. */
  get current(): TlsPair {
    return this.#current;
  }

  start(): void {
    for (const file of [this.files.certFile, this.files.keyFile]) {
      watchFile(file, { interval: this.watchIntervalMs, persistent: false }, this.#listener);
    }
    active.add(this);
    if (!sighupInstalled) {
      sighupInstalled = true;
      process.on('SIGHUP', () => reloadAllTls('SIGHUP'));
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const file of [this.files.certFile, this.files.keyFile]) unwatchFile(file, this.#listener);
    active.delete(this);
  }

  /** Reads and checks the files again; true when the new pair now serves new connections. */
  reload(why: string): boolean {
    if (this.#stopped) return false;
    let pair: TlsPair;
    try {
      pair = readTlsPair(this.files);
    } catch (err) {
      const reason = err instanceof TlsFilesError ? err.message : String(err);
      this.logger?.error(`TLS certificate not reloaded (${why}): ${reason}; the current certificate keeps serving`, {
        pid: process.pid,
      });
      return false;
    }
    if (pair.fingerprint256 === this.#current.fingerprint256 && pair.key.equals(this.#current.key)) return true;
    this.server.setSecureContext(secureContextOptions(pair));
    this.#current = pair;
    this.logger?.info(`TLS certificate reloaded (${why})`, {
      pid: process.pid,
      subject: pair.subject,
      fingerprint256: pair.fingerprint256,
      validTo: pair.validTo.toISOString(),
    });
    return true;
  }
}

/** Reloads every TLS listener of this process (the SIGHUP handler; the cluster primary forwards SIGHUP). */
export function reloadAllTls(why: string): void {
  for (const reloader of active) reloader.reload(why);
}

/** True when this process serves TLS somewhere: then SIGHUP means "reload", not "terminate". */
export function tlsActive(): boolean {
  return active.size > 0;
}
