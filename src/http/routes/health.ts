import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';

export function healthRoutes({ service }: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Throws StoreUnavailableError (503 STORE_UNAVAILABLE) when the store cannot be reached.
  router.get('/readyz', async (_req, res) => {
    await service.ping();
    res.json({ status: 'ready' });
  });
  return router;
}
