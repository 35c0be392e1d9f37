import type { RequestHandler } from 'express';
import type { z } from 'zod';

/**
 * Parses the request body with a zod schema and puts the result in `res.locals.body`; a failure reaches
 * the error middleware as a ZodError (400 naming the field).
 */
export function validateBody(schema: z.ZodType): RequestHandler {
  return (req, res, next) => {
    res.locals.body = schema.parse(req.body ?? undefined);
    next();
  };
}

export function parsedBody<S extends z.ZodType>(locals: Record<string, unknown>, _schema: S): z.infer<S> {
  return locals.body as z.infer<S>;
}
