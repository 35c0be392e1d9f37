import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { v4 as uuidv4 } from 'uuid';
import { receiveFile, type ReceivedFile } from './receive-file.js';

/** Temporary names start with a dot: a stored name never does (see `safeName`), so they cannot collide. */
export const TEMP_PREFIX = '.upload-';
export const TEMP_SUFFIX = '.tmp';

/** What multer puts in `req.file` after this engine accepted a file. */
export type UploadedFile = Express.Multer.File & { detectedType: string };

export const isUploadedFile = (file: unknown): file is UploadedFile =>
  typeof file === 'object' && file !== null && typeof (file as UploadedFile).detectedType === 'string';

/**
 * A multer storage engine that streams the one file of an upload into `folder` under a temporary name,
 * deciding its type from the bytes as they pass ({@link receiveFile}). The final name depends on the
 * `exhibit_id` field, which may arrive after the file, so renaming is left to the exhibit service.
 */
class ThreadFolderStorage implements multer.StorageEngine {
  /** The engine's work for this request, so the parser can wait for its cleanup before answering. */
  work: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly folder: string,
    private readonly maxBytes: number,
  ) {}

  _handleFile(_req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    const tmpPath = path.join(this.folder, `${TEMP_PREFIX}${uuidv4()}${TEMP_SUFFIX}`);
    const received = mkdir(this.folder, { recursive: true }).then(() => receiveFile(file.stream, tmpPath, this.maxBytes));
    this.work = received.catch(() => {});
    received.then(
      (stored: ReceivedFile) => {
        const info: Partial<UploadedFile> = { path: stored.tmpPath, size: stored.size, detectedType: stored.mimeType };
        callback(null, info);
      },
      (err: unknown) => {
        // The stream must still be consumed, or busboy (and the request) would stall.
        file.stream.resume();
        callback(err);
      },
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    rm(file.path, { force: true }).then(
      () => callback(null),
      (err: Error) => callback(err),
    );
  }
}

/**
 * The multipart parser of one upload into `folder` (the thread's folder; the caller has checked the thread
 * exists). Exactly one file, in field `file`; a few small text fields; file names decoded as UTF-8 (busboy's
 * default is latin1) and kept with their path so the service sees what the client sent.
 */
export function uploadParser(folder: string, maxBytes: number): RequestHandler {
  const storage = new ThreadFolderStorage(folder, maxBytes);
  const parse = multer({
    storage,
    defParamCharset: 'utf8',
    preservePath: true,
    limits: {
      fileSize: maxBytes,
      files: 1,
      fields: 4,
      parts: 6,
      fieldSize: 1024,
      fieldNameSize: 100,
      headerPairs: 50,
    },
  }).single('file');
  // multer may report a failure (a broken body, a client gone) before the engine has removed its temporary
  // file; answering only after that makes "no file left" true when the client sees the error.
  return (req, res, next) => parse(req, res, (err?: unknown) => void storage.work.then(() => next(err)));
}
