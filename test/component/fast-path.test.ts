import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { recordedSecurityHeaders } from '../../src/http';
import { rawRequest, signedPing } from '../helpers/net';
import { startTestService, type TestService } from '../helpers/test-service';

/**
 * The usual flow request (JSON, Content-Length, no Content-Encoding) is served by the node:http
 * fast path (src/http/flow-edge.ts); every other one by the Express route. Both must answer alike:
 * same security headers, request id, audit event and rate-limit accounting.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ env: { TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await t.stop();
});

const ping = () => signedPing(t.keys.publicKeyPem, t.env.META_APP_SECRET as string);
const url = (path = '/flows/book-appointment') => `${t.baseUrl}${path}`;

async function auditOf(requestId: string | string[] | undefined): Promise<{ outcome: string; http_status: number }> {
  await t.service.audit.flush();
  const row = (await t.service.database.knex('audit_events').where({ request_id: requestId }).first()) as
    { outcome: string; http_status: number } | undefined;
  if (!row) throw new Error(`no audit event for request ${String(requestId)}`);
  return row;
}

describe('when a ping takes the fast path and another the Express route', () => {
  it('then both answer 200 with the same security headers, a request id and an audit event each', async () => {
    const fast = ping();
    const fastReply = await rawRequest(url(), { headers: fast.headers, body: fast.body });
    // A gzip body is not the fast path's: Express inflates it (the signature covers the sent bytes).
    const slow = ping();
    const gzipped = gzipSync(slow.body);
    const slowReply = await new Promise<{ status: number; head: string; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(t.baseUrl);
      const socket = connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => {
        const all = Buffer.concat(chunks).toString('latin1');
        const [head = '', body = ''] = all.split('\r\n\r\n');
        resolve({ status: Number(head.slice(9, 12)), head, body });
      });
      const signature = slow.headers['x-hub-signature-256'];
      socket.write(
        `POST /flows/book-appointment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Encoding: gzip\r\nX-Hub-Signature-256: ${signature}\r\n` +
          `Content-Length: ${gzipped.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(gzipped);
    });
    expect(fastReply.status).toBe(200);
    expect(fast.open(fastReply.body)).toEqual({ version: '3.0', data: { status: 'active' } });
    expect(slowReply.status).toBe(200);
    // Express's res.send answered this one; the body is still the sealed ping answer.
    expect(slow.open(slowReply.body.trim())).toEqual({ version: '3.0', data: { status: 'active' } });

    const slowHeaders = Object.fromEntries(
      slowReply.head
        .split('\r\n')
        .slice(1)
        .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    ) as Record<string, string>;
    const security = recordedSecurityHeaders();
    expect(Object.keys(security).length).toBeGreaterThan(5);
    for (const [name, value] of Object.entries(security)) {
      expect(fastReply.headers[name.toLowerCase()]).toBe(value);
      expect(slowHeaders[name.toLowerCase()]).toBe(value);
    }
    expect(fastReply.headers['content-type']).toBe(slowHeaders['content-type']);
    expect(fastReply.headers['x-powered-by']).toBeUndefined();
    expect(slowHeaders['x-powered-by']).toBeUndefined();
    expect(fastReply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(slowHeaders['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await auditOf(fastReply.headers['x-request-id'])).toMatchObject({ outcome: 'ping', http_status: 200 });
    expect(await auditOf(slowHeaders['x-request-id'])).toMatchObject({ outcome: 'ping', http_status: 200 });
  });

  it('then a query string or a trailing slash does not change the route', async () => {
    for (const path of ['/flows/book-appointment?x=1', '/flows/book-appointment/']) {
      const p = ping();
      const reply = await rawRequest(url(path), { headers: p.headers, body: p.body });
      expect(reply.status).toBe(200);
      expect(p.open(reply.body)).toEqual({ version: '3.0', data: { status: 'active' } });
    }
  });

  it('then an unknown flow is a 404 with an empty body, audited, on either path', async () => {
    const p = ping();
    const reply = await rawRequest(url('/flows/no-such-flow'), { headers: p.headers, body: p.body });
    expect(reply.status).toBe(404);
    expect(reply.body).toBe('');
    expect(await auditOf(reply.headers['x-request-id'])).toMatchObject({ outcome: 'unknown_flow', http_status: 404 });
  });

  it('then other methods and paths still reach Express (405/404 JSON, health)', async () => {
    expect((await rawRequest(url(), { method: 'GET' })).status).toBe(404);
    expect((await rawRequest(url('/healthz'), { method: 'GET' })).status).toBe(200);
  });
});

describe('when a client goes away in the middle of its body on the fast path', () => {
  it('then nothing is dispatched but the rejection, which is audited, and the service keeps serving', async () => {
    const before = Number(
      (
        (await t.service.database.knex('audit_events').where({ outcome: 'malformed_request' }).count({ n: '*' })) as {
          n: string | number;
        }[]
      )[0]?.n ?? 0,
    );
    const p = ping();
    await new Promise<void>((resolve) => {
      const { hostname, port } = new URL(t.baseUrl);
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST /flows/book-appointment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `X-Forwarded-For: 10.9.9.9\r\nContent-Length: ${p.body.length}\r\n\r\n${p.body.slice(0, 40)}`,
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
    });
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await t.service.audit.flush();
      after = Number(
        (
          (await t.service.database.knex('audit_events').where({ outcome: 'malformed_request' }).count({ n: '*' })) as {
            n: string | number;
          }[]
        )[0]?.n ?? 0,
      );
    }
    expect(after).toBe(before + 1);
    const next = ping();
    expect((await rawRequest(url(), { headers: next.headers, body: next.body })).status).toBe(200);
  });
});
