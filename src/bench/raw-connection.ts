import { connect, type Socket } from 'node:net';

export interface RawReply {
  readonly status: number;
  readonly body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The request bytes a load connection writes: headers and body in one buffer, built once per pool
 * entry, so the load generator spends its CPU on sending, not on building requests.
 */
export function requestBytes(host: string, path: string, body: Buffer, headers: Record<string, string>): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, `Host: ${host}`, `Content-Length: ${body.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * One keep-alive HTTP/1.1 connection that sends one request at a time and reads a Content-Length
 * response — all the service sends on the flow route. Node's http client costs a few times more CPU
 * per request, and on a machine whose cores the load generator shares with the service, that CPU is
 * taken from the thing measured.
 */
export class RawConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: RawReply) => void; reject: (e: Error) => void } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  /** Sends `bytes` (a whole request) and resolves with the reply; rejects on a transport error or timeout. */
  request(bytes: Buffer, timeoutMs: number): Promise<RawReply> {
    if (this.#waiting) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise<RawReply>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#timer = setTimeout(() => this.#fail(new Error('timeout')), timeoutMs);
      this.#open().write(bytes);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): Socket {
    if (this.#socket) return this.#socket;
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true });
    // Events of a socket already replaced (closed after `Connection: close`) concern no request.
    const current = (): boolean => this.#socket === socket;
    socket.on('data', (chunk: Buffer) => current() && this.#onData(chunk));
    socket.on('error', (err) => current() && this.#fail(err));
    socket.on('close', () => current() && this.#fail(new Error('connection closed')));
    this.#socket = socket;
    this.#buffer = Buffer.alloc(0);
    return socket;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf(HEADER_END);
    if (end === -1) return;
    const head = this.#buffer.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.#fail(new Error('reply without Content-Length'));
    const bodyStart = end + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (this.#buffer.length < bodyEnd) return;
    const status = Number(head.slice(9, 12));
    const body = this.#buffer.subarray(bodyStart, bodyEnd).toString('utf8');
    this.#buffer = this.#buffer.subarray(bodyEnd);
    // The service closes after some answers (413): the next request opens a new connection.
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    const waiting = this.#waiting;
    this.#settle();
    waiting?.resolve({ status, body });
  }

  #fail(err: Error): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.close();
    this.#settle();
    waiting.reject(err);
  }

  #settle(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = undefined;
  }
}
