import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { AppError } from '../../errors.js';
import { textFileOf } from '../../exhibits/text/text-files.js';
import { isThreadId } from '../../domain/ids.js';

const exhibitNotFound = () => new AppError('Exhibit not found', { code: 'NOT_FOUND' });

/** `GET /api/exhibits/{thread_id}/{stored_name}/text`: the exhibit's extracted text (SPEC "Exhibit text"). */
export function exhibitTextRoutes({ exhibits }: AppDeps): Router {
  const router = Router();

  router.get('/api/exhibits/:thread_id/:stored_name/text', async (req: Request, res: Response, next: NextFunction) => {
    const threadId = req.params.thread_id as string;
    const found = isThreadId(threadId) ? await exhibits.find(threadId, req.params.stored_name as string) : null;
    if (!found) throw exhibitNotFound();
    const { exhibit, folder } = found;
    if (exhibit.text_status === 'pending') {
      throw new AppError('The text of this exhibit is still being extracted; try again shortly', {
        code: 'TEXT_PENDING',
        headers: { 'Retry-After': '2' },
      });
    }
    if (exhibit.text_status !== 'ready' || !exhibit.upload_id) {
      const why = exhibit.text_error ?? 'it was uploaded before text extraction existed';
      throw new AppError(`This exhibit has no text: ${why}`, { code: 'TEXT_UNAVAILABLE' });
    }
    res.set({
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, no-cache',
    });
    // The upload id comes from the store (textFileOf refuses anything but a UUID).
    // Whole texts only: no Range requests (conditional GETs still answer 304).
    res.sendFile(textFileOf(folder, exhibit.upload_id), { dotfiles: 'allow', acceptRanges: false }, (err?: Error) => {
      if (!err || res.headersSent) return;
      // Recorded but gone from disk (the workflow deleted meanwhile): not a recorded exhibit any more.
      next((err as { status?: number }).status === 404 ? exhibitNotFound() : err);
    });
  });

  return router;
}
