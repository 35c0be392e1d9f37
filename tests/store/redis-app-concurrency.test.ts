import { existsSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { GatedWriter } from '../helpers/writers.js';

noticeIfSkipped(redisAvailable, 'concurrent uploads against the Redis store');

describe.skipIf(!redisAvailable)('the app on the Redis store under concurrent writes', () => {
  let redis: TestRedis;
  let t: TestApp;
  const writer = new GatedWriter();

  beforeAll(async () => {
    redis = await useRedis();
    t = await makeTestApp({ env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix }, overrides: { writer } });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('keeps all 50 uploads made at once while the loop writes sections, and every section once', async () => {
    const start = await request(t.app).post('/api/generate-petition').send({ case_id: 'conc', user_id: 'u' });
    expect(start.status).toBe(200);
    const id = start.body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);

    // Sections complete while the uploads are in flight.
    const releaser = setInterval(() => writer.release(), 15);
    const uploads = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(t.app)
          .post(`/api/upload-exhibit/${id}`)
          .field('exhibit_id', `ex-${i}`)
          .attach('file', Buffer.from(`Evidence number ${i}\n`, 'utf8'), `evidence ${i}.txt`),
      ),
    );
    expect(uploads.map((u) => u.status)).toEqual(Array(50).fill(200));
    await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed', { timeoutMs: 15_000 });
    clearInterval(releaser);

    const stored = (await t.deps.store.get(id))!;
    expect(stored.exhibits.map((e) => e.exhibit_id).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `ex-${i}`).sort());
    for (const e of stored.exhibits) expect(existsSync(path.join(t.deps.config.uploadDir, id, e.stored_name))).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(stored.logs.filter((l) => l.message.startsWith(`Exhibit uploaded: ex-${i} `))).toHaveLength(1);
    }
    expect(stored.completed_sections).toBe(5);
    for (const s of stored.sections) {
      expect(stored.logs.filter((l) => l.message.startsWith(`Completed section: ${s.section_name} (`)), s.section_id).toHaveLength(1);
    }
    expect(writer.calls).toEqual(['intro', 'background', 'awards', 'membership', 'publications']);

    const preview = await request(t.app).get(`/api/document/preview/${id}`);
    expect(preview.body.exhibits).toHaveLength(50);
    expect(preview.body.metadata.completed_sections).toBe(5);
  });
});
