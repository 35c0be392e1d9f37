import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { v4 as uuidv4 } from 'uuid';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The client's `X-Request-Id` when it is a sane token, a new UUID otherwise; echoed in the response. */
function requestId(req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv4();
  res.setHeader('X-Request-Id', id);
  return id;
}

const levelOf = (status: number, err?: unknown) => (err || status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug');

/**
 * Request ids and one log line per request: successes at `debug`, 4xx at `info`, 5xx and errors at `error`.
 *
 * pino-http builds a child logger for every request up front, serializing its bindings; on the preview
 * poll that was the largest single cost after Express itself (bench/README: scenario 1). So when `debug`
 * is off — where a 2xx is never logged — requests get a lazy `req.log`, built only if something logs,
 * and the same 4xx/5xx lines pino-http would write. With `debug` or `trace` on, pino-http runs unchanged.
 */
export function requestLogging(logger: Logger): RequestHandler {
  const full = pinoHttp({
    logger,
    genReqId: (req, res) => requestId(req as Parameters<RequestHandler>[0], res as Parameters<RequestHandler>[1]),
    customLogLevel: (_req, res, err) => levelOf(res.statusCode, err),
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });

  return (req, res, next) => {
    if (logger.isLevelEnabled('debug')) return full(req, res, next);
    const id = requestId(req, res);
    const { method, url } = req;
    const began = Date.now();
    let child: Logger | null = null;
    const log = () => (child ??= logger.child({ req: { id, method, url } }));
    req.id = id;
    Object.defineProperty(req, 'log', { configurable: true, enumerable: false, get: log });
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const status = res.statusCode;
      if (status < 400) return;
      const entry = { res: { statusCode: status }, responseTime: Date.now() - began };
      if (status >= 500) log().error({ ...entry, err: new Error(`failed with status code ${status}`) }, 'request errored');
      else log().info(entry, 'request completed');
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
