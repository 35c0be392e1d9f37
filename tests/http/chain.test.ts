import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { chain } from '../../src/http/middleware/chain.js';

/** An app with `chain(handlers)` at the root, a route that reports what ran, and an error handler. */
function appWith(handlers: RequestHandler[]) {
  const app = express();
  app.use(chain(handlers));
  app.get('/x', (_req, res) => res.json({ ran: res.locals.ran ?? [] }));
  const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => {
    res.status(418).json({ error: err.message, ran: res.locals.ran ?? [] });
  };
  app.use(onError);
  return app;
}
const mark = (name: string): RequestHandler => (_req, res, next) => {
  res.locals.ran = [...(res.locals.ran ?? []), name];
  next();
};

describe('chain', () => {
  it('runs the middlewares in order, then the routes', async () => {
    const res = await request(appWith([mark('a'), mark('b'), mark('c')])).get('/x').expect(200);
    expect(res.body.ran).toEqual(['a', 'b', 'c']);
  });

  it('sends an error passed to next, a thrown one and a rejected promise to the error handler, skipping the rest', async () => {
    const passed: RequestHandler = (_req, _res, next) => next(new Error('passed'));
    const thrown: RequestHandler = () => {
      throw new Error('thrown');
    };
    const rejected: RequestHandler = async () => {
      await Promise.resolve();
      throw new Error('rejected');
    };
    for (const [bad, message] of [[passed, 'passed'], [thrown, 'thrown'], [rejected, 'rejected']] as const) {
      const res = await request(appWith([mark('a'), bad, mark('never')])).get('/x').expect(418);
      expect(res.body).toEqual({ error: message, ran: ['a'] });
    }
  });

  it('stops where a middleware answers by itself (a CORS preflight, a refusal)', async () => {
    const answer: RequestHandler = (_req, res) => {
      res.status(204).end();
    };
    let later = false;
    await request(appWith([mark('a'), answer, (_req, _res, next) => ((later = true), next())])).get('/x').expect(204);
    expect(later).toBe(false);
  });

  it('lets an async middleware go on by calling next after it awaited', async () => {
    const slow: RequestHandler = async (_req, res, next) => {
      await new Promise((r) => setTimeout(r, 5));
      res.locals.ran = [...(res.locals.ran ?? []), 'slow'];
      next();
    };
    const res = await request(appWith([mark('a'), slow, mark('b')])).get('/x').expect(200);
    expect(res.body.ran).toEqual(['a', 'slow', 'b']);
  });
});
