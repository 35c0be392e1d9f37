import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { AppDeps } from '../../app-deps.js';
import { AppError } from '../../errors.js';
import { isInlineType, TEXT_PLAIN } from '../../exhibits/content-detection.js';
import { fileTooLarge } from '../../exhibits/receive-file.js';
import { parseUpload } from '../../exhibits/upload-storage.js';
import { drainBytesFor, drainRefusedBody } from '../drain-body.js';
import { isThreadId } from '../../domain/ids.js';

// Room for the multipart boundaries, part headers and the exhibit_id field around the file itself.
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const exhibitNotFound = () => new AppError('Exhibit not found', { code: 'NOT_FOUND' });

/**
 * Errors of the multipart parser that are neither ours nor multer's ("Unexpected end of form", "Malformed
 * part header", a missing boundary) describe a broken body: 400, not 500. Disk errors keep their 500.
 */
function asUploadError(err: unknown, maxBytes: number): unknown {
  // multer's own size error does not say the limit: the 413 always names it.
  if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') return fileTooLarge(maxBytes);
  if (err instanceof AppError || err instanceof multer.MulterError) return err;
  if (typeof err === 'object' && err !== null && 'syscall' in err) return err;
  return new AppError('Malformed multipart/form-data body', { code: 'VALIDATION_ERROR', cause: err });
}

export function exhibitRoutes({ service, exhibits, config }: AppDeps): Router {
  const router = Router();

  const drainLimit = { maxBytes: drainBytesFor(config.maxUploadBytes) };
  const idleMs = config.server.uploadIdleTimeoutMs;

  /** Everything that can be decided from the URL and headers, before a byte of the body is read. */
  const checkBeforeBody: RequestHandler = async (req, _res, next) => {
    await service.require(req.params.thread_id as string);
    if (!req.is('multipart/form-data')) {
      throw new AppError('Uploads must be sent as multipart/form-data', { code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    const declared = Number(req.get('content-length'));
    if (declared > config.maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
      // Refused without storing a byte; the body is still read (and discarded) up to a bound, so clients
      // that send it all before reading the answer see the 413 rather than a reset connection.
      drainRefusedBody(req, drainLimit);
      throw fileTooLarge(config.maxUploadBytes);
    }
    next();
  };

  /** The parsed form; rejects with what the parser or the file storage refused. */
  const receiveForm = async (req: Request, res: Response) => {
    const upload = parseUpload(req, res, exhibits.folderOf(req.params.thread_id as string), config.maxUploadBytes);
    // A client that stops sending: no byte for UPLOAD_IDLE_TIMEOUT_MS ends the upload (temp file removed).
    req.setTimeout(idleMs, () =>
      upload.abort(
        new AppError(`No data received for ${idleMs} ms; upload abandoned`, {
          code: 'REQUEST_TIMEOUT',
          headers: { Connection: 'close' },
        }),
      ),
    );
    try {
      await upload.done;
    } catch (err) {
      const refused = asUploadError(err, config.maxUploadBytes);
      // Over the limit: answered now, while the rest of the body is read and discarded up to a bound.
      if (refused instanceof AppError && refused.status === 413) drainRefusedBody(req, drainLimit);
      throw refused;
    } finally {
      req.setTimeout(0);
    }
  };

  router.post('/api/upload-exhibit/:thread_id', checkBeforeBody, async (req, res) => {
    const threadId = req.params.thread_id as string;
    try {
      await receiveForm(req, res);
      const exhibit = await exhibits.save(threadId, { fields: req.body, file: req.file });
      res.json({ success: true, exhibit_id: exhibit.exhibit_id, filename: exhibit.filename, file_path: exhibit.file_path });
    } catch (err) {
      // A DELETE may have won the race: then the answer is 404 and the folder this upload used is removed.
      throw await exhibits.failedUpload(threadId, err);
    }
  });

  router.get('/api/exhibits/:thread_id/:stored_name', async (req: Request, res: Response, next: NextFunction) => {
    const threadId = req.params.thread_id as string;
    const found = isThreadId(threadId) ? await exhibits.find(threadId, req.params.stored_name as string) : null;
    if (!found) throw exhibitNotFound();
    const { exhibit, folder } = found;

    // res.attachment builds an RFC 6266/5987 header (ASCII fallback plus filename* for UTF-8 names).
    res.attachment(exhibit.filename);
    if (isInlineType(exhibit.mime_type)) {
      res.set('Content-Disposition', (res.get('Content-Disposition') ?? '').replace(/^attachment/, 'inline'));
    }
    res.set({
      'Content-Type': exhibit.mime_type === TEXT_PLAIN ? 'text/plain; charset=utf-8' : exhibit.mime_type,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, no-cache',
    });
    // The name comes from the store, and `root` confines send to the thread folder even so.
    res.sendFile(exhibit.stored_name, { root: folder, dotfiles: 'deny' }, (err?: Error) => {
      if (!err || res.headersSent) return;
      // Recorded but gone from disk (e.g. deleted meanwhile): still "not a recorded exhibit" to the client.
      const status = (err as { status?: number }).status;
      next(status === 404 ? exhibitNotFound() : err);
    });
  });

  return router;
}
