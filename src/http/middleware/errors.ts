import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { ZodError } from 'zod';
import { AppError, type ErrorCode } from '../../errors.js';

interface HttpError {
  status: number;
  code: ErrorCode;
  detail: string;
  headers: Record<string, string>;
}

const MULTER_ERRORS: Record<string, Omit<HttpError, 'headers'>> = {
  LIMIT_FILE_SIZE: { status: 413, code: 'FILE_TOO_LARGE', detail: 'File is larger than the upload limit' },
  LIMIT_FILE_COUNT: { status: 400, code: 'VALIDATION_ERROR', detail: 'Exactly one file must be sent in field "file"' },
  LIMIT_UNEXPECTED_FILE: { status: 400, code: 'VALIDATION_ERROR', detail: 'Exactly one file must be sent in field "file"' },
  LIMIT_PART_COUNT: { status: 400, code: 'VALIDATION_ERROR', detail: 'Too many form parts' },
  LIMIT_FIELD_COUNT: { status: 400, code: 'VALIDATION_ERROR', detail: 'Too many form fields' },
  LIMIT_FIELD_KEY: { status: 400, code: 'VALIDATION_ERROR', detail: 'Form field name too long' },
  LIMIT_FIELD_VALUE: { status: 400, code: 'VALIDATION_ERROR', detail: 'Form field value too long' },
  MISSING_FIELD_NAME: { status: 400, code: 'VALIDATION_ERROR', detail: 'Form field without a name' },
};

const BODY_PARSER_ERRORS: Record<string, Omit<HttpError, 'headers'>> = {
  'entity.parse.failed': { status: 400, code: 'INVALID_JSON', detail: 'Request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'Request body is larger than 64 KiB' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported charset' },
  'request.aborted': { status: 400, code: 'VALIDATION_ERROR', detail: 'Request aborted' },
  'request.size.invalid': { status: 400, code: 'VALIDATION_ERROR', detail: 'Request size did not match Content-Length' },
};

export function formatZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((issue) => {
      const where = issue.path.length ? issue.path.join('.') : 'body';
      if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Maps anything thrown by a handler to the `{detail, code}` contract; the only place that does so. */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof AppError) return { status: err.status, code: err.code, detail: err.message, headers: err.headers };
  if (err instanceof ZodError) return { status: 400, code: 'VALIDATION_ERROR', detail: formatZodError(err), headers: {} };
  if (err instanceof multer.MulterError) {
    const known = MULTER_ERRORS[err.code] ?? { status: 400, code: 'VALIDATION_ERROR', detail: 'Invalid upload' };
    return { ...known, headers: {} };
  }
  // Every path parameter names a thread or a stored file: one that does not even decode names nothing.
  if (err instanceof URIError) return { status: 404, code: 'NOT_FOUND', detail: 'Resource not found: malformed path', headers: {} };
  if (typeof err === 'object' && err !== null) {
    const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
    const known = e.type ? BODY_PARSER_ERRORS[e.type] : undefined;
    if (known) return { ...known, headers: {} };
    // http-errors raised by Express itself (e.g. a malformed percent-encoding in the path).
    if (e.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return { status: e.status, code: 'VALIDATION_ERROR', detail: e.message ?? 'Bad request', headers: {} };
    }
  }
  return null;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(`Route ${req.method} ${req.path.slice(0, 200)} not found`, { status: 404, code: 'ROUTE_NOT_FOUND' }));
};

export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const known = toHttpError(err);
  const http = known ?? { status: 500, code: 'INTERNAL_ERROR', detail: 'Internal server error', headers: {} };
  // Read by the metrics middleware (upload rejections by reason).
  res.locals.errorCode = http.code;
  if (!known) req.log.error({ err }, 'unhandled error');
  else if (http.status >= 500) req.log.warn({ err: { message: String((err as Error).message), code: http.code } }, 'request failed');
  // A handler may have described a file before failing (e.g. a 416 from sendFile): the error is JSON, inline.
  for (const name of ['Content-Type', 'Content-Disposition', 'ETag', 'Last-Modified']) res.removeHeader(name);
  res.status(http.status).set(http.headers).json({ detail: http.detail, code: http.code });
};
