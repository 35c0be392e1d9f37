import express, { type RequestHandler } from 'express';
import { AppError } from '../../errors.js';

export const JSON_BODY_LIMIT = 64 * 1024;

const parseJson = express.json({ limit: JSON_BODY_LIMIT, strict: true, type: () => true });

const hasBody = (req: Parameters<RequestHandler>[0]) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * The declared charset when it is not UTF-8 (JSON is UTF-8, RFC 8259 §8.1), else null. The body parser
 * alone would decode UTF-16 as declared.
 */
function otherCharset(contentType: string | undefined): string | null {
  const declared = CHARSET.exec(contentType ?? '')?.[1];
  return declared === undefined || declared.toLowerCase() === 'utf-8' ? null : declared;
}

/**
 * Accepts only `application/json` bodies in UTF-8 (415 otherwise), at most 64 KiB (413). An empty body
 * stays empty.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) return next();
  if (!req.is('application/json')) {
    return next(
      new AppError('Request body must be application/json', { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }),
    );
  }
  const charset = otherCharset(req.get('content-type'));
  if (charset !== null) {
    return next(
      new AppError(`Request body must be UTF-8 JSON (charset ${JSON.stringify(charset.slice(0, 40))} is not accepted)`, {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      }),
    );
  }
  parseJson(req, res, next);
};
