import { Router, type RequestHandler } from 'express';
import { AppError, threadNotFound } from '../../errors.js';
import { isThreadId } from '../../domain/ids.js';
import type { AppDeps } from '../../app-deps.js';
import type { PreviewService } from '../../workflow/preview.js';
import { bindBodyUser, userOf } from '../middleware/auth.js';
import { idempotencyKeyOf } from '../middleware/idempotency.js';
import { jsonBody } from '../middleware/json-body.js';
import { parsedBody, validateBody } from '../middleware/validate.js';
import { StartBodySchema } from '../schemas.js';

/** `GET /api/document/preview/:thread_id`, the hot path: every open document polls it every 2 s. */
function previewHandler(preview: PreviewService): RequestHandler {
  return async (req, res) => {
    const id = req.params.thread_id as string;
    const result = isThreadId(id) ? await preview.render(id, req.get('if-none-match')) : null;
    if (!result) throw threadNotFound(id);
    // The body is a ready Buffer and the ETag is ours, so plain Node calls replace res.set / res.send (header
    // normalisation, freshness and ETag checks that have nothing left to do here).
    res.setHeader('ETag', result.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (!result.body) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', result.body.length);
    res.end(result.body);
  };
}

export function workflowRoutes({ service, preview, idempotency, metrics, exhibits, pdf }: AppDeps): Router {
  const router = Router();

  router.post('/api/generate-petition', jsonBody, bindBodyUser, validateBody(StartBodySchema), async (req, res) => {
    const body = parsedBody(res.locals, StartBodySchema);
    const key = idempotencyKeyOf(req);
    const { thread_id, replayed } = key
      ? await idempotency.run(userOf(res) ?? body.user_id, key, body, () => service.start(body))
      : { ...(await service.start(body)), replayed: false };
    if (replayed) {
      metrics.idempotentReplays.inc();
      res.set('Idempotent-Replayed', 'true');
    }
    res
      .location(`/api/document/preview/${thread_id}`)
      .json({ thread_id, status: 'generating', message: `Document generation started for case ${body.case_id}` });
  });

  router.get('/api/document/preview/:thread_id', previewHandler(preview));

  router.post('/api/pause/:thread_id', async (req, res) => {
    await service.pause(req.params.thread_id);
    res.json({ status: 'paused', message: 'Document generation paused successfully' });
  });

  router.post('/api/resume/:thread_id', async (req, res) => {
    await service.resume(req.params.thread_id);
    res.json({ status: 'generating', message: 'Document generation resumed successfully' });
  });

  router.delete('/api/document/:thread_id', async (req, res) => {
    const id = req.params.thread_id;
    try {
      await service.delete(id);
    } catch (err) {
      // No state, but maybe files: a DELETE that timed out on a hung store and was applied later, or whose
      // answer was lost. Removing them makes the retry complete; the answer stays the SPEC's 404.
      if (isThreadId(id) && err instanceof AppError && err.code === 'THREAD_NOT_FOUND') {
        await Promise.all([exhibits.removeAll(id), pdf.remove(id)]);
      }
      throw err;
    }
    res.status(204).end();
  });

  return router;
}
