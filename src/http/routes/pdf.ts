import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';

// Placeholder: the PDF issue (4) adds GET /api/download-petition-pdf/:thread_id
export function pdfRoutes(_deps: AppDeps): Router {
  return Router();
}
