import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import * as f from '../exhibits/fixtures.js';
import { startWorkflow, upload, uploadRoot } from '../exhibits/uploads.js';

noticeIfSkipped(redisAvailable, 'DELETE racing uploads on the Redis store');

const everything = (root: string) => (existsSync(root) ? readdirSync(root, { recursive: true }).map(String).sort() : []);

const stores = [
  { name: 'memory', redis: false },
  { name: 'Redis', redis: true },
] as const;

describe.each(stores)('DELETE racing uploads ($name store)', ({ redis: useRedisStore }) => {
  let redis: TestRedis | undefined;
  let t: TestApp;
  beforeAll(async () => {
    if (useRedisStore) redis = await useRedis();
    t = await makeTestApp({
      // Sections slow enough that the workflow is still generating while the uploads run.
      env: {
        SECTION_DELAY_MIN_MS: '5000',
        SECTION_DELAY_MAX_MS: '5000',
        ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix } : {}),
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it.skipIf(useRedisStore && !redisAvailable)(
    'answers 204 and leaves nothing under UPLOAD_DIR; each losing upload answers 404 and removes its own file',
    async () => {
      const file = f.pdf(2_000_000);
      const statuses = new Map<number, number>();
      for (let round = 0; round < 8; round++) {
        const id = await startWorkflow(t);
        const uploads = Promise.all(
          Array.from({ length: 8 }, (_, i) => upload(t, id, `x${i % 3}`, file, `exhibit-${i}.pdf`).then((r) => r)),
        );
        await delay(50);
        const deleted = await request(t.app).delete(`/api/document/${id}`);
        const answers = await uploads;

        expect({ round, status: deleted.status, body: deleted.text }).toEqual({ round, status: 204, body: '' });
        for (const answer of answers) {
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect([200, 404]).toContain(answer.status);
          if (answer.status === 404) expect(answer.body.code).toBe('THREAD_NOT_FOUND');
        }
        // Every request has been answered: nothing of the workflow may remain, now or a moment later.
        expect(everything(uploadRoot(t))).toEqual([]);
        expect(await t.deps.store.getHead(id)).toBeNull();
        expect((await request(t.app).delete(`/api/document/${id}`)).status).toBe(404);
      }
      await delay(100);
      expect(everything(uploadRoot(t))).toEqual([]);
      // The race was real: some uploads lost it (a test where every upload wins or loses proves less).
      expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    },
    60_000,
  );

  it.skipIf(useRedisStore && !redisAvailable)('an upload committed before the DELETE is removed with the workflow', async () => {
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'kept', f.pdf(5000), 'kept.pdf')).status).toBe(200);
    expect(everything(uploadRoot(t)).length).toBeGreaterThan(0);
    expect((await request(t.app).delete(`/api/document/${id}`)).status).toBe(204);
    await waitFor(() => everything(uploadRoot(t)).length === 0);
  });
});
