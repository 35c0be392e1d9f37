import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { AppError } from '../../errors.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `GET /metrics` in the Prometheus text format. With `METRICS_TOKEN` it needs `Authorization: Bearer
 * <token>` (401 otherwise); a scrape reads only what the process already holds (see `WorkflowCounts`).
 */
export function metricsHandler({ metrics, config }: Pick<AppDeps, 'metrics' | 'config'>): RequestHandler {
  const expected = config.metrics.token === undefined ? null : digest(config.metrics.token);
  return async (req, res) => {
    if (expected) {
      const given = /^Bearer +(\S+)$/i.exec(req.get('authorization')?.trim() ?? '')?.[1];
      // Compared as digests: equal lengths, and the time taken says nothing about the token.
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        throw new AppError('GET /metrics needs the metrics token (Authorization: Bearer <METRICS_TOKEN>)', {
          status: 401,
          code: 'UNAUTHORIZED',
          headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        });
      }
    }
    const text = await metrics.text();
    res.set('Cache-Control', 'no-store').type(metrics.contentType).send(text);
  };
}

/**
 * `/metrics` on the API's port, unless `METRICS_PORT` gives it a listener of its own (then the API port
 * answers 404 for it). Outside `/api`, so API tokens do not apply: `METRICS_TOKEN` or the separate port
 * (kept off the public network) protect it.
 */
export function metricsRoutes(deps: AppDeps): Router {
  const router = Router();
  if (deps.config.metrics.port === undefined) router.get('/metrics', metricsHandler(deps));
  return router;
}
