import type { RequestHandler } from 'express';
import type { Metrics } from '../../metrics/metrics.js';
import { operationOf } from '../openapi/operations.js';

const UPLOAD = 'uploadExhibit';

/**
 * Times every request into `dm_http_request_duration_seconds` with a bounded `route` label (the OpenAPI
 * template, or `other`), and counts refused uploads by their error code. Mount it early so requests
 * refused by later middleware (auth, rate limits) are measured too.
 */
export function requestMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const began = performance.now();
    // Looked up before routing changes req.url; auth and rate limits reuse it.
    const op = operationOf(req, res);
    // Node emits `close` on every response, after `finish` for one that completed and alone for one the client
    // left: one listener serves both.
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : 499; // 499: the client left before an answer
      const labels = { method: req.method, route: op?.path ?? 'other', status: String(status) };
      metrics.httpDuration.observe(labels, (performance.now() - began) / 1000);
      if (op?.operationId === UPLOAD && status >= 400) {
        metrics.uploadRejections.inc({ reason: String(res.locals.errorCode ?? status) });
      }
    });
    next();
  };
}
