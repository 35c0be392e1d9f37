import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';

// Placeholder: the exhibits issue (3) adds POST /api/upload-exhibit/:thread_id and GET /api/exhibits/...
export function exhibitRoutes(_deps: AppDeps): Router {
  return Router();
}
