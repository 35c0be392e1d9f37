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
    const end = metrics.httpDuration.startTimer();
    // Looked up before routing changes req.url; auth and rate limits reuse it.
    const op = operationOf(req, res);
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const status = res.headersSent ? res.statusCode : 499; // 499: the client left before an answer
      end({ method: req.method, route: op?.path ?? 'other', status: String(status) });
      if (op?.operationId === UPLOAD && status >= 400) {
        metrics.uploadRejections.inc({ reason: String(res.locals.errorCode ?? status) });
      }
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
