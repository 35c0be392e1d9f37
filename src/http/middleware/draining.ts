import type { Express, RequestHandler } from 'express';
import { AppError } from '../../errors.js';

const DRAINING = 'draining';

/** From now on the app answers every request 503 `SHUTTING_DOWN` (server.ts calls it on SIGTERM/SIGINT). */
export function startDraining(app: Express): void {
  app.locals[DRAINING] = true;
}

/**
 * While the server drains, requests that still arrive — on keep-alive connections, which `server.close()`
 * leaves open while they are busy — get 503 `SHUTTING_DOWN` with `Connection: close`, so the client retries
 * on another instance instead of meeting a store that is being closed. Requests already running finish.
 */
export function refuseWhileDraining(app: Express): RequestHandler {
  return (_req, _res, next) => {
    if (app.locals[DRAINING] !== true) return next();
    next(
      new AppError('The server is shutting down; retry the request', {
        code: 'SHUTTING_DOWN',
        headers: { Connection: 'close', 'Retry-After': '1' },
      }),
    );
  };
}
