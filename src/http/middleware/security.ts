import type { RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Config } from '../../config.js';

/**
 * helmet's headers with a strict CSP: the dashboard and /docs load only their own scripts (no inline
 * script anywhere). `upgrade-insecure-requests` is left out because the service is often reached over
 * plain HTTP on a LAN or behind a TLS-terminating proxy, where it would break every asset; HSTS covers
 * HTTPS deployments. With CORS origins configured, files (exhibits, PDFs) may be embedded cross-origin.
 */
export function securityHeaders(config: Config): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        'upgrade-insecure-requests': null,
        'img-src': ["'self'", 'data:', 'blob:'],
        'connect-src': ["'self'"],
      },
    },
    crossOriginResourcePolicy: { policy: config.corsOrigins.length ? 'cross-origin' : 'same-origin' },
  });
}

/** CORS for a separate frontend on `CORS_ORIGINS`; null (same origin only) when none are configured. */
export function corsPolicy(config: Config): RequestHandler | null {
  if (!config.corsOrigins.length) return null;
  return cors({
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-None-Match', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id', 'Range'],
    exposedHeaders: [
      'ETag',
      'Location',
      'Retry-After',
      'X-Request-Id',
      'Content-Disposition',
      'Idempotent-Replayed',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ],
    maxAge: 600,
  });
}
