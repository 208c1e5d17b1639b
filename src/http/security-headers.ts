import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

/** helmet with its defaults: the Express app uses it as middleware. */
export const securityMiddleware = helmet();

/**
 * The headers `securityMiddleware` sets, recorded once at start so the fast flow path
 * (flow-edge.ts) sends exactly the same ones without running middleware per request. helmet's
 * defaults are static (no per-request nonce), which is what makes recording them sound;
 * test/component/fast-path.test.ts compares both paths' headers.
 */
export function recordedSecurityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name];
    },
  };
  let called = false;
  securityMiddleware({} as IncomingMessage, recorder as unknown as ServerResponse, () => {
    called = true;
  });
  // helmet answers synchronously; should a version ever not, refusing to start beats sending none.
  if (!called) throw new Error('helmet did not finish synchronously; cannot record security headers');
  return headers;
}
