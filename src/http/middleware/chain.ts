import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs middlewares in order as one: what `app.use(a); app.use(b); …` does for middleware mounted at the root,
 * without a router layer per middleware. Each layer costs every request a path match, a match object and a
 * parameter pass with its own closure — in a profile of the preview poll, Express's router allocated 8.6 of
 * the 43 KB a poll allocates. An error (thrown, passed to `next`, or a rejected promise from an async
 * middleware, as Express 5 handles them) skips the rest and goes on to the error handler.
 */
export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[index++];
      if (!handler) return next();
      try {
        const out: unknown = handler(req, res, step);
        if (out instanceof Promise) out.then(undefined, (e: unknown) => next(e ?? new Error('Rejected promise')));
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
