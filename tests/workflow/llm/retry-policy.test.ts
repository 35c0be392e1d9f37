import { describe, expect, it } from 'vitest';
import type { ModelFailure } from '../../../src/workflow/llm/model-failure.js';
import { finalMessage } from '../../../src/workflow/llm/model-failure.js';
import { retryAfterMs, retryPlan, type RetryPolicy } from '../../../src/workflow/llm/retry-policy.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ maxRetries: 4, baseMs: 1000, maxMs: 30_000, random: () => 1, now: () => NOW, ...over });
const status = (code: number, retryAfter: string | null = null, retryAfterMsHeader: string | null = null): ModelFailure => ({
  kind: 'status',
  status: code,
  retryAfter,
  retryAfterMs: retryAfterMsHeader,
  code: null,
  param: null,
});

describe('which failures are retried', () => {
  it.each([408, 409, 429, 500, 502, 503, 504])('retries status %i', (code) => {
    expect(retryPlan(status(code), 1, policy()).retry).toBe(true);
  });

  it.each([400, 401, 403, 404, 413, 422])('does not retry status %i', (code) => {
    expect(retryPlan(status(code), 1, policy()).retry).toBe(false);
  });

  it.each<ModelFailure>([
    { kind: 'connection', code: 'ECONNREFUSED' },
    { kind: 'cut' },
    { kind: 'stream-error' },
    { kind: 'idle', ms: 30_000 },
    { kind: 'timeout', ms: 180_000 },
  ])('retries $kind', (failure) => {
    expect(retryPlan(failure, 1, policy()).retry).toBe(true);
  });

  it.each<ModelFailure>([{ kind: 'content-filter' }, { kind: 'empty', length: true }])('does not retry $kind', (failure) => {
    expect(retryPlan(failure, 1, policy()).retry).toBe(false);
  });

  it('stops after LLM_MAX_RETRIES retries', () => {
    expect(retryPlan(status(503), 4, policy()).retry).toBe(true);
    expect(retryPlan(status(503), 5, policy()).retry).toBe(false);
    expect(retryPlan(status(503), 1, policy({ maxRetries: 0 })).retry).toBe(false);
  });
});

describe('how long a retry waits', () => {
  it('honours Retry-After in seconds, capped at 60 s', () => {
    expect(retryPlan(status(429, '2'), 1, policy())).toEqual({ retry: true, waitMs: 2000 });
    expect(retryPlan(status(429, '0'), 1, policy())).toEqual({ retry: true, waitMs: 0 });
    expect(retryPlan(status(503, '3600'), 1, policy())).toEqual({ retry: true, waitMs: 60_000 });
  });

  it('honours Retry-After as an HTTP date, never negative, capped at 60 s', () => {
    expect(retryAfterMs(null, new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(retryAfterMs(null, new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(retryAfterMs(null, new Date(NOW + 3_600_000).toUTCString(), NOW)).toBe(60_000);
  });

  it("prefers OpenAI's retry-after-ms, and ignores headers that do not parse", () => {
    expect(retryAfterMs('250', '7', NOW)).toBe(250);
    expect(retryAfterMs(null, 'soon', NOW)).toBeNull();
    expect(retryAfterMs('x', null, NOW)).toBeNull();
    expect(retryAfterMs(null, '-3', NOW)).toBeNull();
  });

  it('backs off exponentially with full jitter when the API names no wait', () => {
    const top = (attempt: number) => (retryPlan(status(500), attempt, policy({ random: () => 0.999999 })) as { waitMs: number }).waitMs;
    expect([1, 2, 3, 4].map(top)).toEqual([999, 1999, 3999, 7999]);
    expect((retryPlan(status(500), 3, policy({ random: () => 0 })) as { waitMs: number }).waitMs).toBe(0);
    expect((retryPlan(status(500), 4, policy({ random: () => 0.5, maxMs: 2000 })) as { waitMs: number }).waitMs).toBe(1000);
  });
});

describe('the message a failed section carries', () => {
  it('names the cause in words', () => {
    expect(finalMessage(status(401), 1, 'm')).toBe('The model API refused the key (401)');
    expect(finalMessage(status(503), 5, 'm')).toBe('The model API kept failing (503) after 5 attempts');
    expect(finalMessage(status(404), 1, 'gpt-x')).toBe('The model API does not know the model "gpt-x" or the URL (404)');
    expect(finalMessage({ kind: 'idle', ms: 30_000 }, 1, 'm')).toBe('The model stopped answering (no data for 30 s)');
    expect(finalMessage({ ...status(400), code: 'unsupported_value', param: 'temperature' } as ModelFailure, 1, 'm')).toBe(
      'The model API rejected the request (400: unsupported_value on temperature)',
    );
  });
});
