import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { ZodError } from 'zod';
import { AppError, ERRORS, type ErrorCode } from '../../errors.js';

interface Answer {
  code: ErrorCode;
  detail: string;
  headers?: Record<string, string>;
}

const ONE_FILE = 'Exactly one file must be sent in field "file"';

const MULTER_ERRORS: Record<string, Answer> = {
  LIMIT_FILE_SIZE: { code: 'FILE_TOO_LARGE', detail: 'File is larger than the upload limit' },
  LIMIT_FILE_COUNT: { code: 'VALIDATION_ERROR', detail: ONE_FILE },
  LIMIT_UNEXPECTED_FILE: { code: 'VALIDATION_ERROR', detail: ONE_FILE },
  LIMIT_PART_COUNT: { code: 'VALIDATION_ERROR', detail: 'Too many form parts' },
  LIMIT_FIELD_COUNT: { code: 'VALIDATION_ERROR', detail: 'Too many form fields' },
  LIMIT_FIELD_KEY: { code: 'VALIDATION_ERROR', detail: 'Form field name too long' },
  LIMIT_FIELD_VALUE: { code: 'VALIDATION_ERROR', detail: 'Form field value too long' },
  MISSING_FIELD_NAME: { code: 'VALIDATION_ERROR', detail: 'Form field without a name' },
};

const BODY_PARSER_ERRORS: Record<string, Answer> = {
  'entity.parse.failed': { code: 'INVALID_JSON', detail: 'Request body is not valid JSON' },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', detail: 'Request body is larger than 64 KiB' },
  'encoding.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported content encoding' },
  'charset.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported charset' },
  'request.aborted': { code: 'VALIDATION_ERROR', detail: 'Request aborted' },
  'request.size.invalid': { code: 'VALIDATION_ERROR', detail: 'Request size did not match Content-Length' },
};

/** Client errors that Express's file sending (`res.sendFile`) raises by itself, by status. */
const SEND_ERRORS: Record<number, ErrorCode> = {
  400: 'VALIDATION_ERROR',
  404: 'NOT_FOUND',
  412: 'PRECONDITION_FAILED',
  416: 'RANGE_NOT_SATISFIABLE',
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

/** Maps anything thrown by a handler to a registered code and a safe detail; null for an unexpected error. */
export function toAnswer(err: unknown): Answer | null {
  if (err instanceof AppError) return { code: err.code, detail: err.message, headers: err.headers };
  if (err instanceof ZodError) return { code: 'VALIDATION_ERROR', detail: formatZodError(err) };
  if (err instanceof multer.MulterError) return MULTER_ERRORS[err.code] ?? { code: 'VALIDATION_ERROR', detail: 'Invalid upload' };
  // Every path parameter names a thread or a stored file: one that does not even decode names nothing.
  if (err instanceof URIError) return { code: 'NOT_FOUND', detail: 'Resource not found: malformed path' };
  if (typeof err === 'object' && err !== null) {
    const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
    const parsing = e.type ? BODY_PARSER_ERRORS[e.type] : undefined;
    if (parsing) return parsing;
    const sending = e.expose && typeof e.status === 'number' ? SEND_ERRORS[e.status] : undefined;
    if (sending) return { code: sending, detail: e.message ?? ERRORS[sending].title };
  }
  return null;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(`Route ${req.method} ${req.path.slice(0, 200)} not found`, { code: 'ROUTE_NOT_FOUND' }));
};

/** The one place that answers errors: `{detail, code}` with the registry's status for the code. */
export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const known = toAnswer(err);
  const answer = known ?? { code: 'INTERNAL_ERROR', detail: 'Internal server error' };
  const status = ERRORS[answer.code].status;
  // Read by the metrics middleware (upload rejections by reason).
  res.locals.errorCode = answer.code;
  if (!known) req.log.error({ err }, 'unhandled error');
  else if (status >= 500) req.log.warn({ err: { message: String((err as Error).message), code: answer.code } }, 'request failed');
  // A handler may have described a file before failing (e.g. a 416 from sendFile): the error is JSON, inline.
  for (const name of ['Content-Type', 'Content-Disposition', 'ETag', 'Last-Modified']) res.removeHeader(name);
  res
    .status(status)
    .set(answer.headers ?? {})
    .json({ detail: answer.detail, code: answer.code });
};
