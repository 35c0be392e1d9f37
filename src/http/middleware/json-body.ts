import express, { type RequestHandler } from 'express';
import { AppError } from '../../errors.js';

export const JSON_BODY_LIMIT = 64 * 1024;

const parseJson = express.json({ limit: JSON_BODY_LIMIT, strict: true, type: () => true });

const hasBody = (req: Parameters<RequestHandler>[0]) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Accepts only `application/json` bodies (415 otherwise), at most 64 KiB (413). An empty body stays empty. */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) return next();
  if (!req.is('application/json')) {
    return next(
      new AppError('Request body must be application/json', { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }),
    );
  }
  parseJson(req, res, next);
};
