import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/http-server.js';
import * as f from '../exhibits/fixtures.js';
import { multipart } from '../exhibits/multipart.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';

// The server src/server.ts listens with: requests and responses are made with the app's prototypes.
describe('the HTTP server built by createHttpServer', () => {
  let t: TestApp;
  let server: http.Server;
  let url: string;
  const seen: { req: unknown; res: unknown }[] = [];

  beforeAll(async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' } });
    server = createHttpServer(t.app);
    server.prependListener('request', (req, res) => seen.push({ req, res }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t.close();
  });

  it("makes requests and responses with the app's prototypes, still Node's IncomingMessage and ServerResponse", async () => {
    await request(url).get('/healthz').expect(200);
    const { req, res } = seen.at(-1)!;
    expect(Object.getPrototypeOf(req)).toBe(t.app.request);
    expect(Object.getPrototypeOf(res)).toBe(t.app.response);
    expect(req).toBeInstanceOf(http.IncomingMessage);
    expect(res).toBeInstanceOf(http.ServerResponse);
  });

  it('serves the API as app.listen would: JSON bodies, errors, conditional polls, uploads, headers', async () => {
    const started = await request(url).post('/api/generate-petition').send({ case_id: 'srv', user_id: 'u' }).expect(200);
    const id = started.body.thread_id as string;
    expect(started.headers['x-request-id']).toMatch(/.+/);
    expect(started.headers['x-content-type-options']).toBe('nosniff');
    const done = await waitFor(async () => {
      const p = await request(url).get(`/api/document/preview/${id}`);
      return p.body.status === 'completed' ? p : null;
    });
    await request(url).get(`/api/document/preview/${id}`).set('If-None-Match', String(done?.headers.etag)).expect(304);
    const bad = await request(url).post('/api/generate-petition').set('Content-Type', 'application/json').send('{"case_id":');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: expect.any(String), detail: expect.any(String) });
    const missing = await request(url).get(`/api/document/preview/${crypto.randomUUID()}`).expect(404);
    expect(missing.body.code).toBe('THREAD_NOT_FOUND');
    const form = multipart([
      { name: 'exhibit_id', value: '2.1.a' },
      { name: 'file', filename: 'award.pdf', content: f.pdf(4096), type: 'application/pdf' },
    ]);
    const up = await request(url).post(`/api/upload-exhibit/${id}`).set('Content-Type', form.contentType).send(form.body);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ success: true, exhibit_id: '2.1.a', filename: 'award.pdf' });
  });
});
