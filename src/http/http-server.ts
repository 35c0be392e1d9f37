import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

type Init = (...args: unknown[]) => void;

/**
 * The HTTP server for an app: what `app.listen` builds, except that requests and responses are created with
 * the app's own prototypes (`app.request`, `app.response`). Express gives every request and response those
 * prototypes with `Object.setPrototypeOf`; V8 then gives each object a hidden class of its own, and every
 * property Express adds afterwards (`params`, `route`, `locals`, `baseUrl`, …) made a new map per request —
 * garbage in the old generation at every poll (`--log-maps`: ≈ 15 map events per request → ≈ 5; bench
 * scenario 4). Created with those prototypes, Express's `setPrototypeOf` changes nothing.
 */
export function createHttpServer(app: Express): http.Server {
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    (http.IncomingMessage as unknown as Init).call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    (http.ServerResponse as unknown as Init).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return http.createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
    },
    app,
  );
}
