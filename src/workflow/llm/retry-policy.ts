import type { ModelFailure } from './model-failure.js';

export interface RetryPolicy {
  /** Retries after the first attempt (LLM_MAX_RETRIES). */
  maxRetries: number;
  /** Upper bound of the first backoff; each retry doubles it, up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  random: () => number;
  now: () => number;
}

/** The longest wait a `Retry-After` header can ask for. */
export const RETRY_AFTER_CAP_MS = 60_000;

export type RetryPlan = { retry: false } | { retry: true; waitMs: number };

/**
 * Whether to try again after the `attempt`-th attempt (1-based) failed, and how long to wait first. Retried:
 * 408, 409, 429 and 5xx, connection errors, a stream cut or stalled before its end, a call over its time and
 * an error the API sends mid-stream. Not retried: other statuses (400, 401, 403, 404, …), a content-filter
 * finish and an empty answer. The wait is the API's `Retry-After` (seconds or an HTTP date; or OpenAI's
 * `retry-after-ms`) capped at 60 s, else exponential backoff with full jitter: uniform in
 * [0, min(maxMs, baseMs × 2^(attempt−1))].
 */
export function retryPlan(failure: ModelFailure, attempt: number, policy: RetryPolicy): RetryPlan {
  if (!isRetryable(failure) || attempt > policy.maxRetries) return { retry: false };
  const asked = failure.kind === 'status' ? retryAfterMs(failure.retryAfterMs, failure.retryAfter, policy.now()) : null;
  if (asked !== null) return { retry: true, waitMs: asked };
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return { retry: true, waitMs: Math.floor(policy.random() * ceiling) };
}

export function isRetryable(failure: ModelFailure): boolean {
  switch (failure.kind) {
    case 'status':
      return failure.status === 408 || failure.status === 409 || failure.status === 429 || failure.status >= 500;
    case 'content-filter':
    case 'empty':
      return false;
    default:
      return true;
  }
}

/**
 * The wait the API asks for, capped at 60 s; null when it asks for none or the headers do not parse.
 * `retry-after-ms` (milliseconds, sent by OpenAI) wins over `Retry-After` (seconds, or an HTTP date).
 */
export function retryAfterMs(retryAfterMsHeader: string | null, retryAfter: string | null, now: number): number | null {
  const cap = (ms: number) => Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.round(ms)));
  const ms = Number(retryAfterMsHeader?.trim() || NaN);
  if (Number.isFinite(ms) && ms >= 0) return cap(ms);
  const value = retryAfter?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return cap(Number(value) * 1000);
  // An HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT") has a month name; a bare "-3" would parse as a year.
  const date = /[A-Za-z]/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(date) ? null : cap(date - now);
}
