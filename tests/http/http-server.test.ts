import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
    server = createHttpServer(t.app, t.deps.config);
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

/** A raw connection: what was received, and a promise of the connection's end. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (c: Buffer) => (received += c.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const open = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, open, closed, received: () => received };
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as unknown;

describe('connection limits of createHttpServer', () => {
  let t: TestApp;
  let server: http.Server;
  let port: number;
  async function start(env: Record<string, string>) {
    t = await makeTestApp({ env });
    server = createHttpServer(t.app, t.deps.config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await t?.close();
  });

  it('half-sent headers time out after HEADERS_TIMEOUT_MS: 408 JSON and the socket is closed', async () => {
    await start({ HEADERS_TIMEOUT_MS: '1000' });
    const c = connect(port);
    await c.open;
    c.socket.write('POST /api/generate-petition HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(c.received())).toEqual({ detail: expect.any(String), code: 'REQUEST_TIMEOUT' });
  });

  it('a body still arriving after REQUEST_TIMEOUT_MS: 408 JSON and the socket is closed', async () => {
    await start({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '1500' });
    const c = connect(port);
    await c.open;
    c.socket.write('POST /api/generate-petition HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    // A byte now and then: never idle, never done.
    const trickle = setInterval(() => c.socket.write(' '), 100);
    try {
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(c.received())).toEqual({ detail: expect.any(String), code: 'REQUEST_TIMEOUT' });
  });

  it('headers over the size limit: 431 with a JSON body', async () => {
    await start({});
    const c = connect(port);
    await c.open;
    c.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 431 /);
    expect(c.received()).toMatch(/Content-Type: application\/json/);
    expect(bodyOf(c.received())).toEqual({ detail: expect.any(String), code: 'HEADERS_TOO_LARGE' });
  });

  it('a malformed request line: 400 with a JSON body', async () => {
    await start({});
    const c = connect(port);
    await c.open;
    c.socket.write('NOT A REQUEST\r\n\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(c.received())).toEqual({ detail: expect.any(String), code: 'VALIDATION_ERROR' });
  });

  it('connections over MAX_CONNECTIONS are closed on arrival; the open ones are still served', async () => {
    await start({ MAX_CONNECTIONS: '2' });
    const held = [connect(port), connect(port)];
    await Promise.all(held.map((c) => c.open));
    await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n === 2))));

    const extra = connect(port);
    await extra.closed;
    expect(extra.received()).toBe('');

    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => held[0]!.received().startsWith('HTTP/1.1 200'));
    held.forEach((c) => c.socket.destroy());
  });
});
