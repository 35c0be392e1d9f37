import { existsSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import * as f from '../exhibits/fixtures.js';
import { folderOf, startWorkflow, upload } from '../exhibits/uploads.js';

noticeIfSkipped(privateRedisAvailable, 'writes on a hung Redis (SIGSTOP)');

describe.skipIf(!privateRedisAvailable)('a write that times out on a hung Redis and is applied later', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await makeTestApp({
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'hung:',
        REDIS_COMMAND_TIMEOUT_MS: '300',
        SECTION_DELAY_MIN_MS: '60000',
        SECTION_DELAY_MAX_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.stop();
  });

  it('DELETE answered 503 but applied later: the retried DELETE answers 404 and removes the files', async () => {
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'kept', f.pdf(4000), 'kept.pdf')).status).toBe(200);
    expect(existsSync(folderOf(t, id))).toBe(true);

    redis.freeze();
    let first: request.Response;
    try {
      first = await request(t.app).delete(`/api/document/${id}`);
    } finally {
      redis.thaw();
    }
    expect(first.status).toBe(503);
    expect(first.body.code).toBe('STORE_UNAVAILABLE');

    // Redis ran the queued delete when it woke: the state is gone, the files are not.
    await waitFor(async () => (await t.deps.store.getHead(id)) === null);
    expect(existsSync(folderOf(t, id))).toBe(true);

    const retry = await request(t.app).delete(`/api/document/${id}`);
    expect(retry.status).toBe(404);
    expect(retry.body.code).toBe('THREAD_NOT_FOUND');
    expect(existsSync(folderOf(t, id))).toBe(false);
  });
});
