import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { MediaError } from './errors';

/** Where and how picker files may be downloaded from (MEDIA_* configuration). */
export interface DownloadPolicy {
  /** Host names (`mmg.whatsapp.net`) or suffix patterns (`*.whatsapp.net`); https only. */
  readonly allowedHosts: readonly string[];
  /** Outside production: loopback hosts (127.0.0.1, localhost, ::1) over http or https too. */
  readonly allowLoopback: boolean;
  readonly maxFileBytes: number;
  readonly connectTimeoutMs: number;
  /** The whole download, connection included. */
  readonly downloadTimeoutMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const MAX_REDIRECTS = 3;

export function hostAllowed(url: URL, policy: Pick<DownloadPolicy, 'allowedHosts' | 'allowLoopback'>): boolean {
  if (url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  if (policy.allowLoopback && LOOPBACK.has(host)) return url.protocol === 'http:' || url.protocol === 'https:';
  if (url.protocol !== 'https:') return false;
  return policy.allowedHosts.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p;
  });
}

/**
 * GETs a CDN file with the limits that keep a handler inside WhatsApp's 10 s and the process safe:
 * allowed hosts only, redirects followed only within the same host (at most 3), no decompression,
 * a size cap checked against Content-Length and again while reading, a connect timeout and a
 * deadline for the whole download, and the caller's abort signal (the handler's budget).
 * Errors are MediaErrors whose messages never include the URL (it may carry a signed token).
 */
export async function safeDownload(
  rawUrl: string,
  policy: DownloadPolicy,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new MediaError('media_invalid', 'cdn_url is not a URL');
  }
  if (!hostAllowed(url, policy)) throw new MediaError('media_host_not_allowed', `host ${url.hostname}`);
  const deadline = Date.now() + policy.downloadTimeoutMs;
  for (let redirects = 0; ; redirects++) {
    const result = await getOnce(url, policy, maxBytes, deadline, signal);
    if (result.kind === 'body') return result.body;
    if (redirects >= MAX_REDIRECTS) throw new MediaError('media_redirect_refused', 'too many redirects');
    let target: URL;
    try {
      target = new URL(result.location, url);
    } catch {
      throw new MediaError('media_redirect_refused', 'bad Location');
    }
    if (target.host !== url.host || target.protocol !== url.protocol || !hostAllowed(target, policy)) {
      throw new MediaError('media_redirect_refused', `to host ${target.hostname}`);
    }
    url = target;
  }
}

type Once = { kind: 'body'; body: Buffer } | { kind: 'redirect'; location: string };

function getOnce(url: URL, policy: DownloadPolicy, maxBytes: number, deadline: number, signal?: AbortSignal) {
  return new Promise<Once>((resolve, reject) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: MediaError | undefined, value?: Once): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value as Once);
    };
    const onAbort = (): void => finish(new MediaError('media_timeout', "the handler's time budget ran out"));
    if (signal?.aborted) {
      reject(new MediaError('media_timeout', "the handler's time budget ran out"));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      agent: false,
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'flowgate-media' },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    const remaining = Math.max(1, deadline - Date.now());
    timers.push(setTimeout(() => finish(new MediaError('media_timeout', 'download deadline')), remaining));
    const connectTimer = setTimeout(
      () => finish(new MediaError('media_timeout', 'connect')),
      Math.min(policy.connectTimeoutMs, remaining),
    );
    timers.push(connectTimer);
    req.on('socket', (socket: Socket) => {
      const connected = (): void => clearTimeout(connectTimer);
      if (!socket.connecting) connected();
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish(new MediaError('media_download_failed', err.code ?? 'connection error')),
    );
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && typeof res.headers.location === 'string') {
        res.resume();
        finish(undefined, { kind: 'redirect', location: res.headers.location });
        return;
      }
      if (status !== 200) {
        res.resume();
        finish(new MediaError('media_download_failed', `HTTP ${status}`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(new MediaError('media_too_large', `${declared} bytes declared, limit ${maxBytes}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(new MediaError('media_too_large', `more than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { kind: 'body', body: Buffer.concat(chunks, size) }));
      res.on('error', () => finish(new MediaError('media_download_failed', 'connection reset')));
      res.on('aborted', () => finish(new MediaError('media_download_failed', 'connection reset')));
    });
    req.end();
  });
}
