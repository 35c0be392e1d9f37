import { Router, type RequestHandler, type Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { WorkflowService } from '../../workflow/service.js';
import { expressPath, isApiPath, operationOf, OPERATIONS } from '../openapi/operations.js';
import { StartBodySchema } from '../schemas.js';

const REALM = 'Bearer realm="document-monitor"';

/** 401 with the RFC 6750 challenge; `error: 'invalid_token'` when a token came but is not acceptable. */
const unauthorized = (detail: string, options: { error?: 'invalid_token' } = {}) =>
  new AppError(detail, {
    code: 'UNAUTHORIZED',
    headers: { 'WWW-Authenticate': options.error ? `${REALM}, error="${options.error}"` : REALM },
  });

/** The authenticated user of this request; undefined when auth is off. */
export function userOf(res: Response): string | undefined {
  return res.locals.user as string | undefined;
}

/** Epoch ms at which the request's token expires (its `exp`); undefined when auth is off. */
export function tokenExpiresAt(res: Response): number | undefined {
  return res.locals.tokenExpiresAt as number | undefined;
}

/** Says at start-up whether the API is protected; an open API is worth a warning in production logs. */
export function logAuthMode(config: Config, logger: Logger): void {
  if (config.authJwtSecret) logger.info({ auth: 'jwt-hs256' }, 'authentication on: /api routes need a bearer token');
  else logger.warn({ auth: 'off' }, 'authentication off: AUTH_JWT_SECRET is not set, the API is open to anyone who can reach it');
}

/**
 * Bearer-token authentication for `/api` (mounted at the root, it checks the path itself). HS256 only,
 * signature and `exp` checked by jose with `AUTH_CLOCK_SKEW_SECONDS` of tolerance; `sub` (following the
 * user_id rules) becomes the user. The token's text and the reason a check failed are never logged or echoed. Null when auth is off.
 */
export function authenticate(config: Config): RequestHandler | null {
  if (!config.authJwtSecret) return null;
  const key = new TextEncoder().encode(config.authJwtSecret);
  const options = {
    algorithms: ['HS256'],
    clockTolerance: config.authClockSkewSeconds,
    requiredClaims: ['exp', 'sub'],
    ...(config.authJwtIssuer ? { issuer: config.authJwtIssuer } : {}),
    ...(config.authJwtAudience ? { audience: config.authJwtAudience } : {}),
  };
  return async (req, res, next) => {
    if (!isApiPath(req.path) || operationOf(req, res)?.kind === 'public') return next();
    const header = req.get('authorization');
    if (!header) throw unauthorized('A bearer token is required (Authorization: Bearer <token>)');
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
    if (!match) throw unauthorized('Malformed Authorization header; expected "Bearer <JWT>"', { error: 'invalid_token' });
    let sub: unknown;
    let exp: number | undefined;
    try {
      ({ payload: { sub, exp } } = await jwtVerify(match[1]!, key, options));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthorized('The token has expired', { error: 'invalid_token' });
      if (err instanceof joseErrors.JOSEError) throw unauthorized('The token is not valid', { error: 'invalid_token' });
      throw err;
    }
    if (!StartBodySchema.shape.user_id.safeParse(sub).success) {
      throw unauthorized('The token subject is not a valid user id (1-128 of letters, digits and . _ : @ -)', { error: 'invalid_token' });
    }
    res.locals.user = sub;
    if (exp !== undefined) res.locals.tokenExpiresAt = exp * 1000;
    next();
  };
}

/**
 * 404 `THREAD_NOT_FOUND` for a workflow of another user, exactly as for an unknown one, before the route's
 * own handler (or an upload body) runs. Null when auth is off.
 */
function ownThreadCheck(config: Config, service: WorkflowService): RequestHandler | null {
  if (!config.authJwtSecret) return null;
  return async (req, res, next) => {
    const user = userOf(res);
    if (user !== undefined) await service.require(req.params.thread_id as string, user);
    next();
  };
}

/**
 * `ownThreadCheck` on every route with a `{thread_id}`. Built from the OpenAPI operations, so a documented
 * route cannot be left out. Null when auth is off.
 */
export function requireOwnThread(config: Config, service: WorkflowService): Router | null {
  const check = ownThreadCheck(config, service);
  if (!check) return null;
  const router = Router();
  for (const op of OPERATIONS) {
    if (op.params && 'thread_id' in op.params) router[op.method](expressPath(op.path), check);
  }
  return router;
}

/**
 * With auth on, the body's `user_id` is the token's subject: taken from it when absent, 403 `FORBIDDEN`
 * when it names someone else. Runs before the body schema, which then validates the result.
 */
export const bindBodyUser: RequestHandler = (req, res, next) => {
  const user = userOf(res);
  const body: unknown = req.body;
  if (user === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) return next();
  const given = (body as Record<string, unknown>).user_id;
  if (given === undefined) (body as Record<string, unknown>).user_id = user;
  else if (given !== user) {
    throw new AppError('user_id must be the authenticated user', { code: 'FORBIDDEN' });
  }
  next();
};
