import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
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

/** Failures answered as soon as they happen, without waiting for the rest of the body to arrive. */
const isEarlyRefusal = (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'FILE_TOO_LARGE' || code === 'REQUEST_TIMEOUT';
};

/**
 * A multer storage engine that streams the one file of an upload into `folder` under a temporary name,
 * deciding its type from the bytes as they pass ({@link receiveFile}). The final name depends on the
 * `exhibit_id` field, which may arrive after the file, so renaming is left to the exhibit service.
 */
class ThreadFolderStorage implements multer.StorageEngine {
  /** The engine's work for this request, so the parser can wait for its cleanup before answering. */
  work: Promise<unknown> = Promise.resolve();
  private stream: Readable | null = null;
  private aborted: unknown = null;

  constructor(
    private readonly folder: string,
    private readonly maxBytes: number,
    /** Told of a refusal that is answered at once (see `isEarlyRefusal`), once the temp file is gone. */
    private readonly onEarlyRefusal: (err: unknown) => void,
  ) {}

  /** Stops the file being received (if any) with `err`; a file arriving later is refused at once. */
  abort(err: unknown): void {
    this.aborted ??= err;
    this.stream?.destroy(err as Error);
  }

  _handleFile(_req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    if (this.aborted) {
      file.stream.resume();
      callback(this.aborted);
      return;
    }
    this.stream = file.stream;
    const tmpPath = path.join(this.folder, `${TEMP_PREFIX}${uuidv4()}${TEMP_SUFFIX}`);
    const received = mkdir(this.folder, { recursive: true }).then(() => receiveFile(file.stream, tmpPath, this.maxBytes));
    this.work = received.catch(() => {});
    received.then(
      (stored: ReceivedFile) => {
        this.stream = null;
        const info: Partial<UploadedFile> = { path: stored.tmpPath, size: stored.size, detectedType: stored.mimeType };
        callback(null, info);
      },
      (err: unknown) => {
        this.stream = null;
        // The stream must still be consumed, or busboy (and the request) would stall.
        file.stream.resume();
        if (isEarlyRefusal(err)) this.onEarlyRefusal(err);
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

/** One upload being parsed: see {@link parseUpload}. */
export interface UploadParse {
  /**
   * Resolves once the form is parsed (`req.body`, `req.file` set). Rejects with the first refusal, every
   * temporary file removed first; a file over the limit or an aborted upload rejects at once, while the
   * rest of the body may still be arriving (the caller bounds how much more is read).
   */
  done: Promise<void>;
  /** Gives up on the upload (a stalled client): the file being written is removed and `done` rejects. */
  abort(err: unknown): void;
}

/**
 * Parses the multipart body of one upload into `folder` (the thread's folder; the caller has checked the
 * thread exists). Exactly one file, in field `file`; a few small text fields; file names decoded as UTF-8
 * (busboy's default is latin1) and kept with their path so the service sees what the client sent.
 */
export function parseUpload(req: Request, res: Response, folder: string, maxBytes: number): UploadParse {
  let settle!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else reject(err);
    };
  });
  const storage = new ThreadFolderStorage(folder, maxBytes, (err) => settle(err));
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
  // file; settling only after that makes "no file left" true when the client sees the error.
  parse(req, res, (err?: unknown) => void storage.work.then(() => settle(err)));
  return {
    done,
    abort(err) {
      storage.abort(err);
      void storage.work.then(() => settle(err));
    },
  };
}
