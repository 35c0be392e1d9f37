import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { bearer, SECRET, token, uniqueUser } from './helpers.js';

const pauseUnknown = (t: TestApp, headers: Record<string, string> = {}) =>
  request(t.app).post(`/api/pause/${crypto.randomUUID()}`).set(headers);

describe('rate limits, open mode (per IP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { RATE_LIMIT_MUTATING_MAX: '3', RATE_LIMIT_READ_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await t.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After once the budget is spent, then lets requests through after the window', async () => {
    // Only the clock is fake: the window is read from Date, while requests still run on real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const ip = { 'X-Forwarded-For': '203.0.113.7' };
      for (let i = 0; i < 3; i++) {
        const res = await pauseUnknown(t, ip);
        expect(res.status).toBe(404);
        expect(res.headers['ratelimit-limit']).toBe('3');
        // Each request counts once (one limiter runs per request).
        expect(res.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      const limited = await pauseUnknown(t, ip);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60); // never more than the window
      // A refused request does nothing: starting a workflow is refused too and stores nothing.
      const before = (await t.deps.store.listActive()).length;
      expect((await request(t.app).post('/api/generate-petition').set(ip).send({ case_id: 'rl', user_id: 'u' })).status).toBe(429);
      expect((await t.deps.store.listActive()).length).toBe(before);
      // Still refused just before the window ends; answered again once it has.
      vi.setSystemTime(Date.now() + (retryAfter - 1) * 1000);
      expect((await pauseUnknown(t, ip)).status).toBe(429);
      vi.setSystemTime(Date.now() + 1001);
      expect((await pauseUnknown(t, ip)).status).toBe(404);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts each client IP separately', async () => {
    for (let i = 0; i < 4; i++) await pauseUnknown(t, { 'X-Forwarded-For': '198.51.100.1' });
    expect((await pauseUnknown(t, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(429);
    expect((await pauseUnknown(t, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(404);
  });

  it('counts a route reached with another letter case against the same budget', async () => {
    const ip = { 'X-Forwarded-For': '198.51.100.3' };
    const id = crypto.randomUUID();
    for (const url of [`/api/pause/${id}`, `/API/PAUSE/${id}`, `/Api/Pause/${id}`]) {
      expect((await request(t.app).post(url).set(ip)).status, url).toBe(404);
    }
    expect((await request(t.app).post(`/API/pause/${id}`).set(ip)).status).toBe(429);
  });

  it('keeps the reading budget apart from the mutating one', async () => {
    const ip = { 'X-Forwarded-For': '198.51.100.9' };
    const id = (await request(t.app).post('/api/generate-petition').set(ip).send({ case_id: 'rl-2', user_id: 'u' })).body.thread_id;
    for (let i = 0; i < 3; i++) await pauseUnknown(t, ip);
    expect((await pauseUnknown(t, ip)).status).toBe(429);
    expect((await request(t.app).get(`/api/document/preview/${id}`).set(ip)).status).toBe(200);
  });
});

describe('rate limits with auth on (per user)', () => {
  it("one user's spent budget does not limit another user from the same address", async () => {
    const t = await makeTestApp({ env: { AUTH_JWT_SECRET: SECRET, RATE_LIMIT_MUTATING_MAX: '2', RATE_LIMIT_WINDOW_SECONDS: '60' } });
    try {
      const alice = bearer(await token(uniqueUser('alice')));
      const bob = bearer(await token(uniqueUser('bob')));
      await pauseUnknown(t, alice);
      await pauseUnknown(t, alice);
      const limited = await pauseUnknown(t, alice);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await pauseUnknown(t, bob)).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('default limits', () => {
  it('allow a 2-s preview poll for at least ten open documents, and are off when set to 0', async () => {
    const c = loadConfig({});
    const pollsPerWindow = (c.rateLimitWindowSeconds / 2) * 10;
    expect(c.rateLimitReadMax).toBeGreaterThanOrEqual(pollsPerWindow);
    const off = await makeTestApp({ env: { RATE_LIMIT_MUTATING_MAX: '0', RATE_LIMIT_READ_MAX: '0' } });
    try {
      const res = await pauseUnknown(off);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    } finally {
      await off.close();
    }
  });

  it('let one document be polled 60 times in a row (two minutes of polling) without a 429', async () => {
    const t = await makeTestApp();
    try {
      const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'poll', user_id: 'u' })).body.thread_id;
      for (let i = 0; i < 60; i++) expect((await request(t.app).get(`/api/document/preview/${id}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

noticeIfSkipped(redisAvailable, 'rate limits shared through Redis');

describe.skipIf(!redisAvailable)('rate limits with REDIS_URL', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(() => redis?.close());

  it('are shared between processes: two apps on one Redis spend one budget', async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, RATE_LIMIT_MUTATING_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' };
    const a = await makeTestApp({ env });
    const b = await makeTestApp({ env });
    try {
      expect((await pauseUnknown(a)).status).toBe(404);
      expect((await pauseUnknown(b)).status).toBe(404);
      expect((await pauseUnknown(a)).status).toBe(404);
      expect((await pauseUnknown(b)).status).toBe(429);
      expect((await pauseUnknown(a)).status).toBe(429);
      // The counters live under the configured prefix.
      const [, keys] = await redis.client.scan('0', 'MATCH', `${redis.prefix}rl:*`, 'COUNT', 1000);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('share the reading budget between processes too (counted in batches: a process hears the others at its first poll)', async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, RATE_LIMIT_READ_MAX: '4', RATE_LIMIT_WINDOW_SECONDS: '60' };
    const a = await makeTestApp({ env });
    const b = await makeTestApp({ env });
    try {
      const id = (await request(a.app).post('/api/generate-petition').send({ case_id: 'rl-read', user_id: 'u' })).body.thread_id;
      const poll = (t: TestApp) => request(t.app).get(`/api/document/preview/${id}`);
      for (let i = 0; i < 3; i++) expect((await poll(a)).status).toBe(200);
      // a's batch has reached Redis: the shared counter of this window holds its three polls.
      await waitFor(async () => {
        const [, keys] = await redis.client.scan('0', 'MATCH', `${redis.prefix}rl:read:*`, 'COUNT', 1000);
        return keys.length === 1 && (await redis.client.get(keys[0]!)) === '3';
      });
      const fourth = await poll(b);
      expect(fourth.status).toBe(200);
      expect(fourth.headers['ratelimit-remaining']).toBe('0');
      expect((await poll(b)).status).toBe(429);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
