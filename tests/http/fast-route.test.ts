import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { serveFast } from '../../src/http/fast-route.js';
import { matchPreview } from '../../src/http/routes/workflows.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { bearer, SECRET, token, uniqueUser } from '../production/helpers.js';

const ID = '0b0cfd5e-43c4-4a59-9d1e-2f6c8a1b7e10';

/** Headers that differ between any two responses (time, request id, rate budget left). */
const VARYING = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit']);
const stable = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !VARYING.has(name)).sort(([a], [b]) => a.localeCompare(b)));

/** Counts the requests Express's router handles, i.e. the ones the fast route left to Express. */
function routerCalls(t: TestApp) {
  const router = (t.app as unknown as { router: { handle: (...args: unknown[]) => unknown } }).router;
  return vi.spyOn(router, 'handle');
}

async function startCompleted(t: TestApp, headers: Record<string, string> = {}, user = 'fast@example.com'): Promise<string> {
  const res = await request(t.app)
    .post('/api/generate-petition')
    .set(headers)
    .send({ case_id: 'FAST-1', user_id: user, document_type: 'letter' })
    .expect(200);
  const id = res.body.thread_id as string;
  await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed');
  return id;
}

describe('matchPreview: the URLs the fast route serves', () => {
  it('matches the plain path with a thread id, with or without a query', () => {
    expect(matchPreview(`/api/document/preview/${ID}`)).toEqual({ thread_id: ID });
    expect(matchPreview(`/api/document/preview/${ID}?t=1`)).toEqual({ thread_id: ID });
    expect(matchPreview(`/api/document/preview/${ID.toUpperCase()}`)).toEqual({ thread_id: ID.toUpperCase() });
  });

  it('leaves every other form to Express', () => {
    for (const url of [
      `/API/document/preview/${ID}`,
      `/api/document/preview/${ID}/`,
      `/api/document/preview/${ID}/x`,
      `/api/document/preview/${ID.slice(0, 8)}%2D${ID.slice(9)}`,
      `/api/document/preview/not-a-uuid`,
      `/api/document/preview/`,
      `/api/document/preview/../../healthz`,
      `/api/document/previewx/${ID}`,
      `//api/document/preview/${ID}`,
    ]) {
      expect(matchPreview(url), url).toBeNull();
    }
  });
});

describe('the fast route answers exactly as Express does', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { CORS_ORIGINS: 'https://app.example.com', RATE_LIMIT_READ_MAX: '1000' } });
  });
  afterAll(async () => t.close());

  it('serves the plain preview URL without the router, and the same request in another form through it', async () => {
    const id = await startCompleted(t);
    const calls = routerCalls(t);
    try {
      const fast = await request(t.app).get(`/api/document/preview/${id}`).set('Origin', 'https://app.example.com').expect(200);
      expect(calls).not.toHaveBeenCalled();
      // Another letter case is the same route to Express (case-insensitive routing), not to the fast route.
      const slow = await request(t.app).get(`/API/document/preview/${id}`).set('Origin', 'https://app.example.com').expect(200);
      expect(calls).toHaveBeenCalledTimes(1);
      expect(fast.text).toBe(slow.text);
      expect(stable(fast.headers)).toEqual(stable(slow.headers));
      // The middlewares ran on the fast route: security headers, CORS, request id, rate budget.
      expect(fast.headers['content-security-policy']).toContain("default-src 'self'");
      expect(fast.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(fast.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(fast.headers['ratelimit-limit']).toBe('1000');
    } finally {
      calls.mockRestore();
    }
  });

  it('answers 304, 404 for an unknown thread and keeps the client request id, as Express does', async () => {
    const id = await startCompleted(t);
    const first = await request(t.app).get(`/api/document/preview/${id}`).expect(200);
    const etag = first.headers.etag as string;
    for (const [path, status] of [
      [`/api/document/preview/${id}`, 304],
      [`/api/document/preview/${crypto.randomUUID()}`, 404],
    ] as const) {
      const upper = path.replace('/api/', '/API/');
      const fast = await request(t.app).get(path).set('If-None-Match', etag).set('X-Request-Id', 'req-1');
      const slow = await request(t.app).get(upper).set('If-None-Match', etag).set('X-Request-Id', 'req-1');
      expect(fast.status, path).toBe(status);
      expect(slow.status, upper).toBe(status);
      expect(fast.text.replace(/\/API\//, '/api/')).toBe(slow.text.replace(/\/API\//, '/api/'));
      expect(stable(fast.headers)).toEqual(stable(slow.headers));
      expect(fast.headers['x-request-id']).toBe('req-1');
    }
    const unknown = await request(t.app).get(`/api/document/preview/${crypto.randomUUID()}`);
    expect(unknown.body).toEqual({ detail: expect.stringContaining('not found'), code: 'THREAD_NOT_FOUND' });
  });

  it('times the request into the metrics under the preview route', async () => {
    const id = await startCompleted(t);
    const route = 'route="/api/document/preview/{thread_id}"';
    const count = async () => {
      const text = (await request(t.app).get('/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith('dm_http_request_duration_seconds_count') && l.includes(route) && l.includes('status="200"'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await count();
    await request(t.app).get(`/api/document/preview/${id}`).expect(200);
    await request(t.app).get(`/api/document/preview/${id}?cache=bust`).expect(200);
    expect(await count()).toBe(before + 2);
  });

  it('passes a failing store to the error middleware: 503 STORE_UNAVAILABLE, as on every route', async () => {
    const id = await startCompleted(t);
    t.deps.preview.forget(id);
    const spy = vi.spyOn(t.deps.store, 'getIfChanged').mockRejectedValue(new StoreUnavailableError('down'));
    try {
      const res = await request(t.app).get(`/api/document/preview/${id}`);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('STORE_UNAVAILABLE');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the fast route with auth and a spent rate budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET, RATE_LIMIT_READ_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' } });
  });
  afterAll(async () => t.close());

  it('needs a token, hides another user\'s thread, and counts each poll against the read budget', async () => {
    const owner = uniqueUser('owner');
    const ownerAuth = bearer(await token(owner));
    const id = await startCompleted(t, ownerAuth, owner);
    const calls = routerCalls(t);
    try {
      const none = await request(t.app).get(`/api/document/preview/${id}`);
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('UNAUTHORIZED');
      expect(none.headers['www-authenticate']).toContain('Bearer');

      const stranger = await request(t.app).get(`/api/document/preview/${id}`).set(bearer(await token(uniqueUser('other'))));
      expect(stranger.status).toBe(404);
      expect(stranger.body.code).toBe('THREAD_NOT_FOUND');

      for (let i = 0; i < 3; i++) await request(t.app).get(`/api/document/preview/${id}`).set(ownerAuth).expect(200);
      const limited = await request(t.app).get(`/api/document/preview/${id}`).set(ownerAuth);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(calls).not.toHaveBeenCalled();
    } finally {
      calls.mockRestore();
    }
  });
});

describe('serveFast on a bare app', () => {
  function bare() {
    const app = express();
    const hello: RequestHandler = (req, res) => {
      res.json({ id: req.params.id, url: req.originalUrl, base: req.baseUrl, query: req.query });
    };
    const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => {
      res.status(418).json({ error: err.message });
    };
    app.get('/hello/:id', hello);
    app.use(onError);
    serveFast(app, {
      match: (url) => (url.startsWith('/hello/') ? { id: url.slice(7).split('?')[0]! } : null),
      handlers: [hello],
      notFound: (_req, _res, next) => next(new Error('not found')),
      onError,
    });
    return app;
  }

  it('sets up the request as Express would: params, originalUrl, baseUrl, the query, X-Powered-By', async () => {
    const app = bare();
    const fast = await request(app).get('/hello/x1?a=1').expect(200);
    expect(fast.body).toEqual({ id: 'x1', url: '/hello/x1?a=1', base: '', query: { a: '1' } });
    expect(fast.headers['x-powered-by']).toBe('Express');
    app.disable('x-powered-by');
    expect((await request(app).get('/hello/x1').expect(200)).headers['x-powered-by']).toBeUndefined();
  });

  it('sends what a handler throws to the error middleware, and a request no handler answers to the 404 one', async () => {
    const app = express();
    const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => {
      res.status(418).json({ error: err.message });
    };
    serveFast(app, {
      match: (url) => (url === '/boom' ? {} : url === '/pass' ? {} : null),
      handlers: [
        (req, _res, next) => {
          if (req.url === '/boom') throw new Error('boom');
          next();
        },
      ],
      notFound: (_req, _res, next) => next(new Error('not found')),
      onError,
    });
    expect((await request(app).get('/boom').expect(418)).body).toEqual({ error: 'boom' });
    expect((await request(app).get('/pass').expect(418)).body).toEqual({ error: 'not found' });
  });

  it('answers a plain 500 when the error middleware itself throws, and drops the connection when headers are out', async () => {
    const app = express();
    serveFast(app, {
      match: (url) => (url === '/fails' || url === '/late' ? {} : null),
      handlers: [
        (req, res) => {
          if (req.url === '/late') {
            res.writeHead(200, { 'Content-Type': 'text/plain' });
            res.write('partial');
          }
          throw new Error('handler broke');
        },
      ],
      notFound: (_req, _res, next) => next(new Error('not found')),
      onError: (err: Error, _req, res, next) => {
        if (res.headersSent) return next(err);
        throw new Error(`error middleware broke on: ${err.message}`);
      },
    });
    const res = await request(app).get('/fails');
    expect(res.status).toBe(500);
    expect(res.text).toBe('Internal Server Error');
    // Headers already sent: the response cannot be turned into an error, so the connection is closed.
    await expect(request(app).get('/late')).rejects.toThrow();
  });
});
