import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { chain } from './middleware/chain.js';

/** A GET route served without walking Express's router (see `serveFast`). */
export interface FastRoute {
  /**
   * The route's parameters when `url` (path and query, as received) names this route in a form whose meaning
   * cannot differ from Express's reading of it; null for anything else, which Express then serves as usual.
   */
  match(url: string): Record<string, string> | null;
  /** What the request goes through, in order: the app's own middlewares, then the route's handler. */
  handlers: readonly RequestHandler[];
  /** Put in `res.locals` first: what a middleware would otherwise look up (the OpenAPI operation). */
  locals?: Record<string, unknown>;
  /** Where a request goes when a handler passes it on without an error: the app's 404. */
  notFound: RequestHandler;
  /** The app's error middleware, for anything a handler throws or passes to `next`. */
  onError: ErrorRequestHandler;
}

type Handle = (req: Request, res: Response, callback?: NextFunction) => void;

/**
 * Serves the route's matching GET requests through the same middleware and handler functions Express would
 * run, in the same order, but without Express's router. For the polled preview Express's own work — a router
 * layer per `app.use`, path matching of each route before it, a final handler built per request — was 6.5 %
 * of the main thread in a profile of bench scenario 4, about half of what the middlewares themselves cost.
 * Everything else, and a request whose URL the route does not match exactly (other case, trailing slash,
 * percent-encoding, a HEAD), goes to Express unchanged. A mounted app (called with a `next`) always goes to
 * Express.
 */
export function serveFast(app: Express, route: FastRoute): void {
  const target = app as unknown as { handle: Handle; request: Request; response: Response };
  const express = target.handle;
  const run = chain([...route.handlers, route.notFound]);

  target.handle = function handle(this: unknown, req, res, callback) {
    const params = callback === undefined && req.method === 'GET' ? route.match(req.url) : null;
    if (!params) return express.call(this, req, res, callback);
    // What app.handle and the router set up before the first middleware (express/lib/application.js,
    // router/index.js). The prototypes are already the app's when the server is createHttpServer's.
    if (Object.getPrototypeOf(req) !== target.request) Object.setPrototypeOf(req, target.request);
    if (Object.getPrototypeOf(res) !== target.response) Object.setPrototypeOf(res, target.response);
    if (app.enabled('x-powered-by')) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    res.req = req;
    res.locals ??= Object.create(null) as Response['locals'];
    if (route.locals) Object.assign(res.locals, route.locals);
    req.originalUrl = req.url;
    req.baseUrl = '';
    req.params = params;
    run(req, res, (err?: unknown) => failed(err, req, res, route.onError));
  };
}

/** The error middleware, and what Express's final handler does when even that cannot answer. */
function failed(err: unknown, req: Request, res: Response, onError: ErrorRequestHandler): void {
  const last = () => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error');
  };
  try {
    onError(err, req, res, last);
  } catch {
    last();
  }
}
