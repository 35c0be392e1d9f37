import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/redis.js';

const COMMAND_TIMEOUT_MS = 5000;

describe('a Redis that refuses connections', () => {
  let t: TestApp;
  beforeAll(async () => {
    const port = await freePort(); // nothing listens there
    t = await makeTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) } });
  });
  afterAll(async () => t?.close());

  // The rate limits and idempotency keys (the guards) have a Redis client of their own; it must not hold a
  // request while it waits to reconnect, or every mutating request is as slow as a reconnection attempt.
  it.each([
    ['pause', `/api/pause/${crypto.randomUUID()}`],
    ['generate-petition with an Idempotency-Key', '/api/generate-petition'],
  ])('%s answers 503 STORE_UNAVAILABLE well within the command timeout', async (_name, path) => {
    const began = performance.now();
    const res = await request(t.app).post(path).set('Idempotency-Key', crypto.randomUUID()).send({ case_id: 'c', user_id: 'u' });
    const elapsed = performance.now() - began;
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('STORE_UNAVAILABLE');
    expect(elapsed).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
  });
});
