import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';

// Placeholder: the live-updates issue (6) adds GET /api/document/events/:thread_id
export function eventRoutes(_deps: AppDeps): Router {
  return Router();
}
