import { Router, type Response } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { threadNotFound } from '../../errors.js';

/** Streams a file with Range and conditional-request support; resolves once it is sent or abandoned. */
function sendFile(res: Response, file: string, threadId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    res.sendFile(
      file,
      {
        // The PDF changes when exhibits are added: clients may keep it but must revalidate (ETag/Last-Modified).
        cacheControl: false,
        headers: { 'Cache-Control': 'private, no-cache', 'X-Content-Type-Options': 'nosniff' },
        // The app turns generated ETags off; send() answers If-None-Match / If-Range with the one set above.
        lastModified: true,
      },
      (err?: Error & { code?: string }) => {
        if (!err || res.headersSent) resolve(); // sent, or the client went away mid-stream
        else if (err.code === 'ENOENT') reject(threadNotFound(threadId)); // deleted between render and send
        else reject(err);
      },
    );
  });
}

export function pdfRoutes({ pdf }: AppDeps): Router {
  const router = Router();

  router.get('/api/download-petition-pdf/:thread_id', async (req, res) => {
    const id = req.params.thread_id;
    const prepared = await pdf.prepare(id);
    // Set by hand: the name is ASCII by construction, and the contract quotes it.
    res.set({ 'Content-Disposition': `attachment; filename="${prepared.filename}"`, ETag: prepared.etag });
    await sendFile(res, prepared.path, id);
  });

  return router;
}
