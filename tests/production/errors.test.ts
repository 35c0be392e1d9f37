import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, ERRORS, errorTableMarkdown, type ErrorCode } from '../../src/errors.js';
import { startDraining } from '../../src/http/middleware/draining.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

describe('the error registry', () => {
  it("is the README's error table, word for word (regenerate it with npm run docs:errors)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const found = /<!-- errors:start -->\n([\s\S]*?)\n<!-- errors:end -->/.exec(readme);
    expect(found, 'README.md has the errors:start / errors:end markers').not.toBeNull();
    expect(found![1]).toBe(errorTableMarkdown());
  });

  it('gives AppError its status', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      expect(new AppError('x', { code }).status).toBe(ERRORS[code].status);
    }
  });

  it('is what the OpenAPI document lists: each error response names only codes of its own status', async () => {
    const t = await makeTestApp({ env: { AUTH_JWT_SECRET: 'x'.repeat(32) } });
    try {
      const doc = (await request(t.app).get('/api/openapi.json').expect(200)).body;
      expect(doc.components.schemas.Error.properties.code.enum).toEqual(Object.keys(ERRORS));
      let errorResponses = 0;
      for (const ops of Object.values(doc.paths as Record<string, Record<string, { responses: Record<string, any> }>>)) {
        for (const op of Object.values(ops)) {
          for (const [status, res] of Object.entries(op.responses)) {
            const codes: ErrorCode[] | undefined = res.content?.['application/json']?.schema?.properties?.code?.enum;
            if (!codes) continue;
            errorResponses++;
            for (const code of codes) expect(ERRORS[code].status, `${code} under ${status}`).toBe(Number(status));
            for (const code of codes) expect(res.description).toContain(code);
          }
        }
      }
      expect(errorResponses).toBeGreaterThan(20);
    } finally {
      await t.close();
    }
  });
});

describe('while the server drains (SIGTERM)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 503 SHUTTING_DOWN with Connection: close, and closes a keep-alive connection after it', async () => {
    t = await makeTestApp();
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ res: http.IncomingMessage; body: string; socket: Socket }>((resolve, reject) => {
        const req = http.get({ agent, host: '127.0.0.1', port: (server.address() as AddressInfo).port, path }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ res, body, socket: req.socket! }));
        });
        req.on('error', reject);
      });
    try {
      const before = await get('/healthz');
      expect(before.res.statusCode).toBe(200);
      const socket = before.socket;

      startDraining(t.app);
      const during = await get('/api/document/preview/' + crypto.randomUUID());
      expect(during.socket).toBe(socket); // the same keep-alive connection
      expect(during.res.statusCode).toBe(503);
      expect(JSON.parse(during.body)).toEqual({ detail: expect.stringContaining('shutting down'), code: 'SHUTTING_DOWN' });
      expect(during.res.headers.connection).toBe('close');
      expect(during.res.headers['retry-after']).toBe('1');
      if (!socket.destroyed) await once(socket, 'close');
      // Nothing else is answered either: health checks see the drain too.
      expect((await request(t.app).get('/healthz')).body.code).toBe('SHUTTING_DOWN');
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
