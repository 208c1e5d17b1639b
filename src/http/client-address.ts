import type { IncomingMessage } from 'node:http';

/**
 * The client's address as Express computes `req.ip` for the `trust proxy` values TRUST_PROXY
 * allows: `false`, the socket's peer; `true`, the left-most X-Forwarded-For entry (every hop is
 * trusted); a number n, the entry n hops from the socket (the last n proxies are trusted), or the
 * left-most when there are fewer. The fast flow path (flow-edge.ts) needs it without Express;
 * test/unit/client-address.test.ts checks it against Express itself.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean | number): string | undefined {
  const peer = req.socket.remoteAddress;
  if (trustProxy === false || trustProxy === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined || header === '') return peer;
  // Nearest hop first: the socket's peer, then X-Forwarded-For from right to left.
  const hops = [peer, ...forwardedFor(header).reverse()];
  const index = trustProxy === true ? hops.length - 1 : Math.min(trustProxy, hops.length - 1);
  return hops[index];
}

/** Entries of X-Forwarded-For (one header, or several joined with ", " by Node), left to right. */
function forwardedFor(header: string | string[]): string[] {
  const joined = Array.isArray(header) ? header.join(',') : header;
  // Spaces (only spaces) around entries are dropped and empty entries skipped, as Express does.
  return joined
    .split(',')
    .map((entry) => entry.replace(/^ +| +$/g, ''))
    .filter((entry) => entry !== '');
}
