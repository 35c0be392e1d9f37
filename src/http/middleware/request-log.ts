import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { v4 as uuidv4 } from 'uuid';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The client's `X-Request-Id` when it is a sane token, a new UUID otherwise; echoed in the response. */
function requestId(req: Request, res: Response): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv4();
  res.setHeader('X-Request-Id', id);
  return id;
}

const levelOf = (status: number, err?: unknown) => (err || status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug');

const CHILD = Symbol('request logger');
type LazyRequest = Request & { [CHILD]?: Logger };

/**
 * Request ids and one log line per request: successes at `debug`, 4xx at `info`, 5xx and errors at `error`.
 *
 * pino-http builds a child logger for every request up front, serializing its bindings: on the polled
 * preview, a cost paid per request for a line that is almost never written. So when `debug` is off — where a 2xx is never logged — `req.log` is a getter on the app's request prototype (`proto`,
 * i.e. `app.request`), defined once, that builds the child only if something logs; a per-request
 * `defineProperty` cost more than the rest of this middleware. The line pino-http would write is written
 * on the response's `close`, which Node emits after `finish` and for aborted responses alike. With
 * `debug` or `trace` on, pino-http runs unchanged (its `req.log =` lands on the request itself).
 */
export function requestLogging(logger: Logger, proto: Request): RequestHandler {
  const full = pinoHttp({
    logger,
    genReqId: (req, res) => requestId(req as Request, res as Response),
    customLogLevel: (_req, res, err) => levelOf(res.statusCode, err),
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  Object.defineProperty(proto, 'log', {
    configurable: true,
    get(this: LazyRequest): Logger {
      return (this[CHILD] ??= logger.child({ req: { id: this.id, method: this.method, url: this.originalUrl } }));
    },
    set(this: Request, value: Logger) {
      Object.defineProperty(this, 'log', { value, writable: true, configurable: true, enumerable: true });
    },
  });

  return (req, res, next) => {
    if (logger.isLevelEnabled('debug')) return full(req, res, next);
    req.id = requestId(req, res);
    const began = Date.now();
    res.on('close', () => {
      const status = res.statusCode;
      if (status < 400) return;
      const entry = { res: { statusCode: status }, responseTime: Date.now() - began };
      if (status >= 500) req.log.error({ ...entry, err: new Error(`failed with status code ${status}`) }, 'request errored');
      else req.log.info(entry, 'request completed');
    });
    next();
  };
}
