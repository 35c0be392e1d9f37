import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { v4 as uuidv4 } from 'uuid';
import type { AppDeps } from './app-deps.js';
import { errorHandler, notFoundHandler } from './http/middleware/errors.js';
import { eventRoutes } from './http/routes/events.js';
import { exhibitRoutes } from './http/routes/exhibits.js';
import { healthRoutes } from './http/routes/health.js';
import { pdfRoutes } from './http/routes/pdf.js';
import { workflowRoutes } from './http/routes/workflows.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the Express app from its dependencies; never listens (see server.ts). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // The preview computes its own ETag; Express must not hash bodies.
  app.set('etag', false);
  app.set('trust proxy', deps.config.trustProxy);

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv4();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.use(healthRoutes(deps));
  app.use(workflowRoutes(deps));
  app.use(exhibitRoutes(deps));
  app.use(pdfRoutes(deps));
  app.use(eventRoutes(deps));
  // The dashboard (public/ beside src/ and dist/, so the same path works for both).
  app.use(express.static(fileURLToPath(new URL('../public/', import.meta.url)), { index: 'index.html' }));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
