import { connect } from 'node:net';

export interface RawReply {
  readonly status: number;
  readonly head: string;
  readonly body: Buffer;
}

/**
 * Sends one HTTP/1.1 request over a plain socket, byte for byte: unlike fetch or node:http, it
 * lets tests put any bytes in header values (property tests). Resolves with the status line's
 * code, or status 0 when the server closed the connection without an answer.
 */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers: [string, string | Buffer][]; body: Buffer },
  timeoutMs = 5000,
): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  const head = Buffer.concat([
    Buffer.from(`${options.method ?? 'POST'} ${options.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`, 'latin1'),
    ...options.headers.map(([name, value]) =>
      Buffer.concat([Buffer.from(`${name}: `, 'latin1'), Buffer.from(value), Buffer.from('\r\n', 'latin1')]),
    ),
    Buffer.from(`Content-Length: ${options.body.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const headText = all.subarray(0, split < 0 ? all.length : split).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
      resolve({ status, head: headText, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    });
    socket.write(Buffer.concat([head, options.body]));
  });
}
