import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Guards } from '../guards/guards.js';
import { isApiPath, operationOf } from '../openapi/operations.js';
import { userOf } from './auth.js';

type Limited = 'mutating' | 'read';

/**
 * Per-user (per-IP when auth is off) limits on `/api`, in fixed windows of `RATE_LIMIT_WINDOW_SECONDS`:
 * one budget for the mutating routes, a larger one for the reading routes (preview polls and event
 * streams). Counters live in Redis when `REDIS_URL` is set, so every process shares them; a Redis outage
 * lets requests through rather than refusing everyone. Mount at the root, after authentication. Null when
 * both are off.
 */
export function rateLimits(config: Config, guards: Guards, metrics: Metrics, logger: Logger): RequestHandler | null {
  const limiters: Partial<Record<Limited, RateLimitRequestHandler>> = {};
  for (const [kind, max] of [['mutating', config.rateLimitMutatingMax], ['read', config.rateLimitReadMax]] as const) {
    if (max === 0) continue;
    limiters[kind] = rateLimit({
      windowMs: config.rateLimitWindowSeconds * 1000,
      limit: max,
      standardHeaders: 'draft-6',
      legacyHeaders: false,
      store: guards.rateLimitStore(kind),
      passOnStoreError: true,
      keyGenerator: (req, res) => {
        const user = userOf(res);
        return user !== undefined ? `u:${user}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
      },
      handler: (req, _res, next) => {
        metrics.rateLimited.inc({ limit: kind });
        const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const seconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
        next(
          new AppError(`Too many requests; try again in ${seconds} s`, {
            status: 429,
            code: 'RATE_LIMITED',
            headers: { 'Retry-After': String(seconds) },
          }),
        );
      },
      // Its own warnings go to our logger; the X-Forwarded-For check is TRUST_PROXY's business. The
      // double-count check keeps a WeakMap entry per request; the dispatcher below runs exactly one limiter.
      validate: { xForwardedForHeader: false, singleCount: false },
      message: undefined,
    });
  }
  if (!limiters.mutating && !limiters.read) return null;
  logger.debug({ mutating: config.rateLimitMutatingMax, read: config.rateLimitReadMax }, 'rate limits on');

  return (req, res, next) => {
    if (!isApiPath(req.path)) return next();
    const op = operationOf(req, res);
    if (op?.kind === 'public') return next();
    // Unknown /api routes count against the budget their method suggests, so they cannot be used to probe freely.
    const kind: Limited = op ? (op.kind as Limited) : req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'mutating';
    const limiter = limiters[kind];
    if (!limiter) return next();
    return limiter(req, res, next);
  };
}
