import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import { isIncreasing, listen, openStream, type Listening } from './sse-client.js';

noticeIfSkipped(redisAvailable, 'cross-process event stream tests');

describe.skipIf(!redisAvailable)('event streams across processes sharing one Redis', () => {
  let redis: TestRedis;
  let a: TestApp;
  let b: TestApp;
  let srvB: Listening;

  beforeAll(async () => {
    redis = await useRedis();
    // Two apps with their own Redis connections and event hubs: what two server processes would have.
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, SECTION_DELAY_MIN_MS: '20', SECTION_DELAY_MAX_MS: '40' };
    a = await makeTestApp({ env });
    b = await makeTestApp({ env });
    srvB = await listen(b.app);
  });
  afterAll(async () => {
    await srvB?.close();
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  it('delivers the changes made by a loop on process A to a client connected to process B', async () => {
    const started = await request(a.app).post('/api/generate-petition').send({ case_id: 'x-proc', user_id: 'u', document_type: 'letter' });
    const id = started.body.thread_id as string;
    const s = await openStream(srvB.port, id);
    await s.waitFor((e) => e.event === 'snapshot');
    const end = await s.waitFor((e) => e.event === 'end');
    expect(end.data).toEqual({ reason: 'completed' });
    // The completion is published before the loop gives its lease back (one more Redis call): then it ends.
    await waitFor(() => a.deps.runner.activeLoops + b.deps.runner.activeLoops === 0, { timeoutMs: 2000 });
    expect(b.deps.runner.isRunning(id)).toBe(false);

    const completed = s.events.filter((e) => e.event === 'section' && e.data.status === 'completed').map((e) => e.data.section_id);
    const fromSnapshot = s.events[0]!.data.sections.filter((x: { status: string }) => x.status === 'completed').map((x: { section_id: string }) => x.section_id);
    expect([...fromSnapshot, ...completed].sort()).toEqual(['body', 'closing', 'header']);
    expect(s.events.at(-2)).toMatchObject({ event: 'status', data: { status: 'completed' } });
    expect(isIncreasing(s.events.filter((e) => e.id).map((e) => e.id))).toBe(true);
  });

  it('ends a stream on process B when process A deletes the workflow', async () => {
    const started = await request(a.app).post('/api/generate-petition').send({ case_id: 'x-del', user_id: 'u' });
    const id = started.body.thread_id as string;
    await request(a.app).post(`/api/pause/${id}`).expect(200);
    const s = await openStream(srvB.port, id);
    await s.waitFor((e) => e.event === 'snapshot');
    await request(a.app).delete(`/api/document/${id}`).expect(204);
    const end = await s.waitFor((e) => e.event === 'end');
    expect(end.data).toEqual({ reason: 'deleted' });
    await s.ended;
    expect(b.deps.events.stats().clients).toBe(0);
  });
});
