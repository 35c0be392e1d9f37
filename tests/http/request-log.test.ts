import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** A logger whose lines land in an array, at the given level. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe('request logging', () => {
  let t: TestApp | null = null;
  afterEach(async () => {
    await t?.close();
    t = null;
  });

  async function appWith(level: string, override: Partial<TestApp['deps']> = {}) {
    const { logger, lines } = capture(level);
    t = await makeTestApp();
    // The app reads the logger from its deps; rebuild it with the capturing one.
    const { createApp } = await import('../../src/app.js');
    return { app: createApp({ ...t.deps, logger, ...override }), lines };
  }

  it('at info, a 4xx is logged once with its request id, method, url and status; a 2xx is not logged', async () => {
    const { app, lines } = await appWith('info');
    const missing = await request(app).get('/api/document/preview/3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60').set('X-Request-Id', 'trace-me-1');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toBe('trace-me-1');
    const ok = await request(app).get('/healthz');
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const requestLines = lines.filter((l) => l.msg === 'request completed' || l.msg === 'request errored');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { id: 'trace-me-1', method: 'GET', url: '/api/document/preview/3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60' },
      res: { statusCode: 404 },
    });
    expect(typeof requestLines[0]?.responseTime).toBe('number');
  });

  it('an unsafe X-Request-Id is replaced, not echoed', async () => {
    const { app } = await appWith('info');
    // Not a hex word: a fresh UUID contains "bad" about once in 150 runs, which once failed CI here.
    const res = await request(app).get('/healthz').set('X-Request-Id', 'evil id\twith spaces');
    expect(res.headers['x-request-id']).not.toContain('evil');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('at debug, successes are logged too, with the same fields', async () => {
    const { app, lines } = await appWith('debug');
    await request(app).get('/healthz').set('X-Request-Id', 'trace-me-2');
    const line = lines.find((l) => l.msg === 'request completed');
    expect(line).toMatchObject({ level: 20, req: { id: 'trace-me-2', method: 'GET', url: '/healthz' }, res: { statusCode: 200 } });
  });

  it('at debug, a preview poll is logged like any other request', async () => {
    const { app, lines } = await appWith('debug');
    const id = (await t!.deps.service.start({ case_id: 'LOG-1', user_id: 'u', document_type: 'letter' })).thread_id;
    await request(app).get(`/api/document/preview/${id}?t=1`).set('X-Request-Id', 'trace-me-4').expect(200);
    await vi.waitFor(() => expect(lines.some((l) => l.msg === 'request completed')).toBe(true));
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
      level: 20,
      req: { id: 'trace-me-4', method: 'GET', url: `/api/document/preview/${id}?t=1` },
      res: { statusCode: 200 },
    });
  });

  it('an unexpected error is logged once by the error handler with the request id, then the 500 line; the body says nothing', async () => {
    const failing = { render: () => Promise.reject(new Error('secret internals')) } as unknown as TestApp['deps']['preview'];
    const { app, lines } = await appWith('info', { preview: failing });
    const url = `/api/document/preview/${crypto.randomUUID()}`;
    const res = await request(app).get(url).set('X-Request-Id', 'trace-me-3');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ detail: 'Internal server error', code: 'INTERNAL_ERROR' });
    const unhandled = lines.filter((l) => l.msg === 'unhandled error');
    expect(unhandled).toHaveLength(1);
    expect(unhandled[0]).toMatchObject({ level: 50, req: { id: 'trace-me-3', method: 'GET', url }, err: { message: 'secret internals' } });
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'request errored')).toHaveLength(1));
    expect(lines.find((l) => l.msg === 'request errored')).toMatchObject({ level: 50, req: { id: 'trace-me-3' }, res: { statusCode: 500 } });
  });

  it('one app at debug and another at info do not share request loggers', async () => {
    const debug = await appWith('debug');
    const first = t;
    t = null;
    const info = await appWith('info');
    await request(debug.app).get('/healthz').set('X-Request-Id', 'dbg-1');
    await request(info.app).get('/api/nothing').set('X-Request-Id', 'inf-1');
    expect(debug.lines.filter((l) => l.msg === 'request completed').map((l) => (l.req as { id: string }).id)).toEqual(['dbg-1']);
    expect(info.lines.filter((l) => l.msg === 'request completed').map((l) => (l.req as { id: string }).id)).toEqual(['inf-1']);
    await first?.close();
  });
});
