import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';

/** A reply from Redis: simple string, integer, bulk string (null when absent), array, or error. */
export type RespValue = string | number | null | RespValue[] | RedisReplyError;

export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export interface RespClientOptions {
  /** Budget of one command (or pipeline) including connecting; past it the connection is dropped. */
  readonly commandTimeoutMs?: number;
  /** After a failed connection, fail fast for this long instead of reconnecting per request. */
  readonly retryAfterMs?: number;
  /**
   * Extra TLS options for `rediss://` (tests pass their own CA). By default the server's
   * certificate must be valid for the URL's host under Node's CAs (plus NODE_EXTRA_CA_CERTS).
   */
  readonly tls?: ConnectionOptions;
}

/** A connected socket whose oldest reply is this many timeouts late is considered dead. */
const STALE_AFTER_TIMEOUTS = 4;

interface Pending {
  readonly sentAt: number;
  readonly resolve: (value: RespValue) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A tiny Redis client over node:net (node:tls for `rediss://`) speaking RESP2: commands are pipelined on one connection and
 * replies matched in order. It covers what the rate limiter needs (INCR, PEXPIRE, AUTH, SELECT,
 * PING) and nothing else, so no dependency is added for two commands. A command that does not
 * answer in time is rejected (the caller fails open); a connection that stays silent for several
 * timeouts is dropped, and the next command reconnects, but not sooner than `retryAfterMs` after
 * a failed attempt.
 */
export class RespClient {
  readonly #host: string;
  readonly #port: number;
  /** TLS options for `rediss://`; undefined for plain `redis://`. */
  readonly #tls: ConnectionOptions | undefined;
  readonly #setup: string[][] = [];
  readonly #timeoutMs: number;
  readonly #retryAfterMs: number;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  #connectingSocket: Socket | undefined;
  #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #failedAt = 0;
  #closed = false;

  constructor(url: string, options: RespClientOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw new Error('REDIS_URL must start with redis:// or rediss:// (TLS)');
    }
    this.#host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.#port = u.port ? Number(u.port) : 6379;
    // SNI carries host names only (RFC 6066); the certificate is checked against the host either way.
    const servername = isIP(this.#host) ? undefined : this.#host;
    this.#tls = u.protocol === 'rediss:' ? { servername, ...options.tls } : undefined;
    const password = decodeURIComponent(u.password);
    const username = decodeURIComponent(u.username);
    if (password) this.#setup.push(username ? ['AUTH', username, password] : ['AUTH', password]);
    const db = u.pathname.replace(/^\//, '');
    if (db && db !== '0') this.#setup.push(['SELECT', db]);
    this.#timeoutMs = options.commandTimeoutMs ?? 500;
    this.#retryAfterMs = options.retryAfterMs ?? 1000;
  }

  async command(...args: string[]): Promise<RespValue> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RedisReplyError) throw reply;
    return reply as RespValue;
  }

  /** Sends several commands in one write; resolves with every reply (errors as values). */
  async pipeline(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    if (this.#closed) throw new RedisUnavailableError('client closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new RedisUnavailableError(`no reply within ${this.#timeoutMs} ms`));
        if (this.#connectingSocket) {
          // A connection attempt that hangs (no RST, e.g. a partition) counts as failed: later
          // calls fail fast for retryAfterMs instead of each waiting out the timeout.
          this.#connectingSocket.destroy(new RedisUnavailableError('connect timed out'));
        } else if (Date.now() - (this.#pending[0]?.sentAt ?? Date.now()) > STALE_AFTER_TIMEOUTS * this.#timeoutMs) {
          // Replies stay matched in order, so one late reply is harmless (its caller already
          // gave up); a connection that answers nothing for several timeouts is dead: drop it.
          this.#drop(new RedisUnavailableError('no replies; connection dropped'));
        }
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#send(commands), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#drop(new RedisUnavailableError('client closed'));
  }

  async #send(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    const socket = await this.#connection();
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.#pending.push({ resolve, reject, sentAt: Date.now() })),
    );
    socket.write(Buffer.concat(commands.map(encode)));
    return Promise.all(replies);
  }

  #connection(): Promise<Socket> {
    if (this.#socket) return Promise.resolve(this.#socket);
    if (this.#connecting) return this.#connecting;
    if (Date.now() - this.#failedAt < this.#retryAfterMs) {
      return Promise.reject(new RedisUnavailableError('recently unreachable; not retrying yet'));
    }
    this.#connecting = new Promise<Socket>((resolve, reject) => {
      const socket = this.#tls
        ? connectTls({ host: this.#host, port: this.#port, ...this.#tls })
        : connect({ host: this.#host, port: this.#port });
      this.#connectingSocket = socket;
      socket.setNoDelay(true);
      socket.on('error', () => undefined); // handled below and by 'close'; never an unhandled event
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.on('close', () => {
        if (this.#socket === socket) this.#drop(new RedisUnavailableError('connection closed'));
      });
      socket.once('error', (err) => {
        this.#failedAt = Date.now();
        this.#connecting = undefined;
        this.#connectingSocket = undefined;
        this.#drop(
          new RedisUnavailableError(`connection failed (${(err as NodeJS.ErrnoException).code ?? err.message})`),
        );
        reject(new RedisUnavailableError(`cannot reach redis (${(err as NodeJS.ErrnoException).code ?? 'error'})`));
      });
      // With TLS, commands wait for the handshake (and the certificate check) to succeed.
      socket.once(this.#tls ? 'secureConnect' : 'connect', () => {
        this.#socket = socket;
        this.#connecting = undefined;
        this.#connectingSocket = undefined;
        // Setup replies are consumed in order before any caller's; a wrong password surfaces there.
        for (const cmd of this.#setup) {
          this.#pending.push({
            sentAt: Date.now(),
            resolve: (v) => {
              if (v instanceof RedisReplyError) this.#drop(v);
            },
            reject: () => undefined,
          });
          socket.write(encode(cmd));
        }
        resolve(socket);
      });
    });
    return this.#connecting;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.#buffer, offset);
      if (!parsed) break;
      offset = parsed.next;
      this.#pending.shift()?.resolve(parsed.value);
    }
    this.#buffer = this.#buffer.subarray(offset);
  }

  #drop(reason: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#buffer = Buffer.alloc(0);
    const pending = this.#pending;
    this.#pending = [];
    pending.forEach((p) => p.reject(reason));
    socket?.destroy();
  }
}

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Parses one RESP2 reply at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, offset: number): { value: RespValue; next: number } | undefined {
  if (offset >= buf.length) return undefined;
  const end = buf.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const type = String.fromCharCode(buf[offset] as number);
  const line = buf.toString('utf8', offset + 1, end);
  const after = end + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RedisReplyError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new RedisUnavailableError(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}
