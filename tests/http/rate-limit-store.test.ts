import type { Store } from 'express-rate-limit';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** An app whose rate-limit counters are `store` (what `Guards` hands out with REDIS_URL set). */
async function appWithCounterStore(store: Store) {
  const logger = pino({ level: 'silent' });
  const errors = vi.spyOn(logger, 'error');
  t = await makeTestApp({
    env: { RATE_LIMIT_READ_MAX: '2', RATE_LIMIT_WINDOW_SECONDS: '60' },
    logger,
    beforeApp: (deps) => vi.spyOn(deps.guards, 'rateLimitStore').mockReturnValue(store),
  });
  const { thread_id } = await t.deps.service.start({ case_id: 'rl', user_id: 'u', document_type: 'memo' });
  return { app: t.app, errors, url: `/api/document/preview/${thread_id}` };
}

describe('the rate-limit counter store', () => {
  it('failing: requests are let through without rate-limit headers, and the failure is logged', async () => {
    const store: Store = {
      init: () => Promise.reject(new Error('no scripts: Redis is away')) as unknown as void,
      increment: () => Promise.reject(new Error('Connection is closed')),
      decrement: async () => {},
      resetKey: async () => {},
    };
    const { app, errors, url } = await appWithCounterStore(store);
    for (let i = 0; i < 4; i++) {
      const res = await request(app).get(url);
      expect(res.status).toBe(200); // over the budget of 2, yet answered: nobody is refused for our outage
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    const messages = errors.mock.calls.map((c) => c[1]);
    expect(messages).toContain('rate limit store failed to initialise');
    expect(messages.filter((m) => m === 'rate limit store failed; request let through')).toHaveLength(4);
  });

  it('answering: draft-6 headers from its count and reset time, and 429 past the budget', async () => {
    const resetTime = new Date(Date.now() + 42_500);
    let hits = 0;
    const store: Store = {
      increment: async () => ({ totalHits: ++hits, resetTime }),
      decrement: async () => {},
      resetKey: async () => {},
    };
    const { app, url } = await appWithCounterStore(store);
    const first = await request(app).get(url);
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({ 'ratelimit-policy': '2;w=60', 'ratelimit-limit': '2', 'ratelimit-remaining': '1' });
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(42);
    expect(Number(first.headers['ratelimit-reset'])).toBeLessThanOrEqual(43);
    expect((await request(app).get(url)).headers['ratelimit-remaining']).toBe('0');
    const limited = await request(app).get(url);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ detail: expect.stringMatching(/try again in 4[23] s/), code: 'RATE_LIMITED' });
    expect(limited.headers['retry-after']).toMatch(/^4[23]$/);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
  });
});
