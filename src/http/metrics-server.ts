import http from 'node:http';
import express from 'express';
import type { AppDeps } from '../app-deps.js';
import { errorHandler, notFoundHandler } from './middleware/errors.js';
import { metricsHandler } from './routes/metrics.js';

/**
 * The listener of `METRICS_PORT`: `GET /metrics` (with the `METRICS_TOKEN` check when set) and 404 JSON for
 * anything else. Nothing of the API is reachable through it, and scrapes do not share the API's sockets.
 */
export function createMetricsServer(deps: Pick<AppDeps, 'metrics' | 'config' | 'logger'>): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, _res, next) => {
    // The error handler logs through req.log, which the API's request logging sets.
    req.log = deps.logger;
    next();
  });
  app.get('/metrics', metricsHandler(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  const server = http.createServer(app);
  server.headersTimeout = deps.config.server.headersTimeoutMs;
  server.requestTimeout = deps.config.server.headersTimeoutMs;
  return server;
}
