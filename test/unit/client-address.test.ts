import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { clientAddress } from '../../src/http';

/**
 * The fast flow path computes the client address without Express; Express's own `req.ip` is the
 * oracle. Every TRUST_PROXY shape against X-Forwarded-For headers honest and odd.
 */
const headers: (string | string[] | undefined)[] = [
  undefined,
  '',
  '203.0.113.7',
  '203.0.113.7, 198.51.100.2, 192.0.2.1',
  '  203.0.113.7 ,198.51.100.2',
  '203.0.113.7,,198.51.100.2',
  ',',
  ' , ',
  '\t203.0.113.7',
  'a b, c',
  ['203.0.113.7', '198.51.100.2, 192.0.2.1'],
];
const trusts: (boolean | number)[] = [false, true, 0, 1, 2, 3, 10];

describe.each(trusts)('when TRUST_PROXY is %s', (trust) => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = express();
    app.set('trust proxy', trust);
    app.get('/', (req, res) => {
      res.json({ express: req.ip ?? null, ours: clientAddress(req as IncomingMessage, trust) ?? null });
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(headers.map((h) => [JSON.stringify(h), h]))(
    'then X-Forwarded-For %s gives the address Express gives',
    async (_name, header) => {
      const requestHeaders = new Headers();
      if (Array.isArray(header)) header.forEach((h) => requestHeaders.append('x-forwarded-for', h));
      else if (header !== undefined) requestHeaders.set('x-forwarded-for', header);
      const answer = (await (await fetch(base, { headers: requestHeaders })).json()) as {
        express: string | null;
        ours: string | null;
      };
      expect(answer.ours).toBe(answer.express);
    },
  );
});
