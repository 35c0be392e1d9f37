import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MemoryStore, ipKeyGenerator, type Options, type Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Guards } from '../guards/guards.js';
import { isApiPath, operationOf } from '../openapi/operations.js';
import { userOf } from './auth.js';

type Limited = 'mutating' | 'read';

/** One budget: its counter store (express-rate-limit's, or rate-limit-redis through `Guards`) and its headers. */
interface Budget {
  kind: Limited;
  limit: number;
  store: Store;
  /** `RateLimit-Policy` and `RateLimit-Limit`, which never change. */
  policy: string;
  limitText: string;
}

/**
 * Per-user (per-IP when auth is off) limits on `/api`, in fixed windows of `RATE_LIMIT_WINDOW_SECONDS`:
 * one budget for the mutating routes, a larger one for the reading routes (preview polls and event
 * streams). Counters live in Redis when `REDIS_URL` is set, so every process shares them; a Redis outage
 * lets requests through rather than refusing everyone. Mount at the root, after authentication. Null when
 * both are off.
 *
 * The counting is behind express-rate-limit's `Store` interface: its memory store, or with Redis
 * rate-limit-redis's atomic script per request (the mutating budget) and `SyncedCounterStore`'s batches (the
 * reading budget, spent by every poll): `Guards.rateLimitStore`. What runs per request is this one function
 * over the store, with the headers express-rate-limit's middleware sets (`standardHeaders: 'draft-6'`):
 * that middleware awaits several times per request and re-validates its configuration, which the polled
 * preview cannot afford (docs/decisions/http-02-rate-limit-counters.md).
 */
export function rateLimits(config: Config, guards: Guards, metrics: Metrics, logger: Logger): RequestHandler | null {
  const windowSeconds = config.rateLimitWindowSeconds;
  const windowMs = windowSeconds * 1000;
  const budgets: Partial<Record<Limited, Budget>> = {};
  for (const [kind, limit] of [['mutating', config.rateLimitMutatingMax], ['read', config.rateLimitReadMax]] as const) {
    if (limit === 0) continue;
    const store = guards.rateLimitStore(kind) ?? new MemoryStore();
    // Only `windowMs` is read by either store; a failed init (Redis away) is retried by the store itself.
    Promise.resolve(store.init?.({ windowMs } as Options)).catch((err: unknown) =>
      logger.error({ err, limit: kind }, 'rate limit store failed to initialise'),
    );
    budgets[kind] = { kind, limit, store, policy: `${limit};w=${windowSeconds}`, limitText: String(limit) };
  }
  if (!budgets.mutating && !budgets.read) return null;
  logger.debug({ mutating: config.rateLimitMutatingMax, read: config.rateLimitReadMax }, 'rate limits on');

  const count = async (budget: Budget, req: Request, res: Response, next: NextFunction) => {
    const user = userOf(res);
    const key = user !== undefined ? `u:${user}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    let totalHits: number;
    let resetTime: Date | undefined;
    try {
      ({ totalHits, resetTime } = await budget.store.increment(key));
    } catch (err) {
      logger.error({ err, limit: budget.kind }, 'rate limit store failed; request let through');
      return next();
    }
    const resetSeconds = resetTime ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : windowSeconds;
    if (!res.headersSent) {
      res.setHeader('RateLimit-Policy', budget.policy);
      res.setHeader('RateLimit-Limit', budget.limitText);
      res.setHeader('RateLimit-Remaining', String(Math.max(budget.limit - totalHits, 0)));
      if (resetSeconds) res.setHeader('RateLimit-Reset', String(resetSeconds));
    }
    if (totalHits <= budget.limit) return next();
    metrics.rateLimited.inc({ limit: budget.kind });
    const seconds = Math.max(1, resetSeconds);
    next(
      new AppError(`Too many requests; try again in ${seconds} s`, {
        code: 'RATE_LIMITED',
        headers: { 'Retry-After': String(seconds) },
      }),
    );
  };

  return (req, res, next) => {
    if (!isApiPath(req.path)) return next();
    const op = operationOf(req, res);
    if (op?.kind === 'public') return next();
    // Unknown /api routes count against the budget their method suggests, so they cannot be used to probe freely.
    const kind: Limited = op ? (op.kind as Limited) : req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'mutating';
    const budget = budgets[kind];
    if (!budget) return next();
    return count(budget, req, res, next);
  };
}
