import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';
import type { AppDeps } from './app-deps.js';
import { serveFast } from './http/fast-route.js';
import { authenticate, ownThreadCheck, requireOwnThread } from './http/middleware/auth.js';
import { chain } from './http/middleware/chain.js';
import { refuseWhileDraining } from './http/middleware/draining.js';
import { errorHandler, notFoundHandler } from './http/middleware/errors.js';
import { requestMetrics } from './http/middleware/metrics.js';
import { requestLogging } from './http/middleware/request-log.js';
import { rateLimits } from './http/middleware/rate-limit.js';
import { corsPolicy, securityHeaders } from './http/middleware/security.js';
import { docsRoutes } from './http/routes/docs.js';
import { documentRoutes, listHandler, matchList } from './http/routes/documents.js';
import { eventRoutes } from './http/routes/events.js';
import { exhibitRoutes } from './http/routes/exhibits.js';
import { healthRoutes } from './http/routes/health.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { pdfRoutes } from './http/routes/pdf.js';
import { matchPreview, previewHandler, workflowRoutes } from './http/routes/workflows.js';
import { operationById } from './http/openapi/operations.js';

/** Builds the Express app from its dependencies; never listens (see server.ts). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // The preview computes its own ETag; Express must not hash bodies.
  app.set('etag', false);
  app.set('trust proxy', deps.config.trustProxy);

  // What every request goes through, in this order, as one router layer (see chain.ts). Order matters: the
  // request id and log, metrics, headers, CORS, the drain check, then who the user is, then their rate budget, then (below, a
  // store read) whether the thread is theirs. Mounted at the root and checking for /api themselves: a path
  // mount would rewrite req.url for every request, and Express would parse it again (bench scenario 1).
  const everyRequest = [
    requestLogging(deps.logger, app.request),
    requestMetrics(deps.metrics),
    securityHeaders(deps.config),
    corsPolicy(deps.config),
    refuseWhileDraining(app),
    authenticate(deps.config),
    rateLimits(deps.config, deps.guards, deps.metrics, deps.logger),
  ];
  const before = everyRequest.filter((h): h is RequestHandler => h !== null);
  app.use(chain(before));
  const own = requireOwnThread(deps.config, deps.service);
  if (own) app.use(own);

  // The polled routes first: every router before them is walked by every poll.
  app.use(workflowRoutes(deps));
  app.use(documentRoutes(deps));
  app.use(eventRoutes(deps));
  app.use(exhibitRoutes(deps));
  app.use(pdfRoutes(deps));
  app.use(healthRoutes(deps));
  app.use(metricsRoutes(deps));
  app.use(docsRoutes(deps));
  // The dashboard (public/ beside src/ and dist/, so the same path works for both).
  app.use(express.static(fileURLToPath(new URL('../public/', import.meta.url)), { index: 'index.html' }));

  app.use(notFoundHandler);
  app.use(errorHandler);

  // The preview poll, every frontend's every 2 s, through the same functions without the router walk.
  const ownThread = ownThreadCheck(deps.config, deps.service);
  serveFast(app, {
    match: matchPreview,
    handlers: [...before, ...(ownThread ? [ownThread] : []), previewHandler(deps.preview)],
    locals: { operation: operationById('getPreview') },
    notFound: notFoundHandler,
    onError: errorHandler,
  });
  // The list, which every open dashboard polls too.
  serveFast(app, {
    match: matchList,
    handlers: [...before, listHandler(deps.store)],
    locals: { operation: operationById('listDocuments') },
    notFound: notFoundHandler,
    onError: errorHandler,
  });
  return app;
}
