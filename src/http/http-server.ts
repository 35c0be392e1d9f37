import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import type { Config } from '../config.js';
import type { ErrorCode } from '../errors.js';

type Init = (...args: unknown[]) => void;

/** What Node's HTTP parser refused before any handler ran, answered as the API answers: `{detail, code}`. */
const CLIENT_ERRORS: Record<string, { status: number; reason: string; code: ErrorCode; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'HEADERS_TOO_LARGE',
    detail: 'The request headers are larger than the server accepts',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    reason: 'Payload Too Large',
    code: 'PAYLOAD_TOO_LARGE',
    detail: 'Chunk extensions are larger than the server accepts',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'REQUEST_TIMEOUT',
    detail: 'The request was not received in time',
  },
};
const MALFORMED = { status: 400, reason: 'Bad Request', code: 'VALIDATION_ERROR' as const, detail: 'Malformed HTTP request' };

/** Answers a request the parser refused, unless the socket cannot take it or an answer has begun. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const started = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || started) {
    socket.destroy();
    return;
  }
  const { status, reason, code, detail } = CLIENT_ERRORS[err.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify({ detail, code });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The HTTP server for an app: what `app.listen` builds, with the connection limits of `limits` (see below),
 * and with requests and responses created from the app's own prototypes (`app.request`, `app.response`).
 * Express gives every request and response those prototypes with `Object.setPrototypeOf`; V8 then gives
 * each object a hidden class of its own, and every property Express adds afterwards (`params`, `route`,
 * `locals`, `baseUrl`, …) made a new map per request — garbage at every poll. Created with those
 * prototypes, Express's `setPrototypeOf` changes nothing; it halves the CPU of a preview poll (ADR
 * http-04).
 *
 * Limits: a client gets `HEADERS_TIMEOUT_MS` to send its headers and `REQUEST_TIMEOUT_MS` for the whole
 * request (a slow or stalled client cannot hold a socket and a file descriptor for long), and at most
 * `MAX_CONNECTIONS` sockets are open at once (more are closed on arrival). Errors of the parser (oversized
 * headers, a timeout, a malformed request) are answered as JSON `{detail, code}`.
 */
export function createHttpServer(app: Express, limits?: Pick<Config, 'server'>): http.Server {
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    (http.IncomingMessage as unknown as Init).call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    (http.ServerResponse as unknown as Init).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  const timeouts = limits && {
    headersTimeout: limits.server.headersTimeoutMs,
    // Node wants the request timeout to be the longer of the two.
    requestTimeout: Math.max(limits.server.requestTimeoutMs, limits.server.headersTimeoutMs),
    // How often Node looks for connections past either timeout; its default, 30 s, would let a headers
    // timeout of a few seconds run to half a minute.
    connectionsCheckingInterval: Math.min(1000, limits.server.headersTimeoutMs),
  };
  const server = http.createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
      ...timeouts,
    },
    app,
  );
  server.on('clientError', answerClientError);
  if (limits) server.maxConnections = limits.server.maxConnections;
  return server;
}
