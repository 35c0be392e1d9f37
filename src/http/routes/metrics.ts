import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';

/**
 * `GET /metrics` in the Prometheus text format. Outside `/api`, so it needs no token: restrict it at the
 * proxy or network level where the service is public.
 */
export function metricsRoutes({ metrics }: AppDeps): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.text();
    res.set('Cache-Control', 'no-store').type(metrics.contentType).send(text);
  });
  return router;
}
