import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';
import type { AppDeps } from './app-deps.js';
import { authenticate, requireOwnThread } from './http/middleware/auth.js';
import { refuseWhileDraining } from './http/middleware/draining.js';
import { errorHandler, notFoundHandler } from './http/middleware/errors.js';
import { requestMetrics } from './http/middleware/metrics.js';
import { requestLogging } from './http/middleware/request-log.js';
import { rateLimits } from './http/middleware/rate-limit.js';
import { corsPolicy, securityHeaders } from './http/middleware/security.js';
import { docsRoutes } from './http/routes/docs.js';
import { documentRoutes } from './http/routes/documents.js';
import { eventRoutes } from './http/routes/events.js';
import { exhibitRoutes } from './http/routes/exhibits.js';
import { exhibitTextRoutes } from './http/routes/exhibit-text.js';
import { healthRoutes } from './http/routes/health.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { pdfRoutes } from './http/routes/pdf.js';
import { workflowRoutes } from './http/routes/workflows.js';

/** Builds the Express app from its dependencies; never listens (see server.ts). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // The preview computes its own ETag; Express must not hash bodies.
  app.set('etag', false);
  app.set('trust proxy', deps.config.trustProxy);

  // What every request goes through, in this order: the request id and log, metrics, headers, CORS, the
  // drain check, then who the user is, then their rate budget, then (a store read) whether the thread is
  // theirs. Mounted at the root and checking for /api themselves: a path mount would rewrite req.url for
  // every request, and Express would parse it again.
  const everyRequest: (RequestHandler | null)[] = [
    requestLogging(deps.logger, app.request),
    requestMetrics(deps.metrics),
    securityHeaders(deps.config),
    corsPolicy(deps.config),
    refuseWhileDraining(app),
    authenticate(deps.config),
    rateLimits(deps.config, deps.guards, deps.metrics, deps.logger),
    requireOwnThread(deps.config, deps.service),
  ];
  for (const handler of everyRequest) if (handler) app.use(handler);

  // The polled routes first: every router before them is walked by every poll.
  app.use(workflowRoutes(deps));
  app.use(documentRoutes(deps));
  app.use(eventRoutes(deps));
  app.use(exhibitRoutes(deps));
  app.use(exhibitTextRoutes(deps));
  app.use(pdfRoutes(deps));
  app.use(healthRoutes(deps));
  app.use(metricsRoutes(deps));
  app.use(docsRoutes(deps));
  // The dashboard (public/ beside src/ and dist/, so the same path works for both).
  app.use(express.static(fileURLToPath(new URL('../public/', import.meta.url)), { index: 'index.html' }));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
