import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import {
  leaseOwner,
  sectionCounts,
  sharedDataDir,
  startServer,
  startWorkflow,
  stopAllServers,
  waitForProgress,
  waitUntilCompleted,
  type Preview,
} from './server-process.js';

noticeIfSkipped(redisAvailable, 'multi-process SIGTERM/restart tests');

const SECTION_MS = 500;

describe.skipIf(!redisAvailable)('SIGTERM and restart', () => {
  let redis: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await useRedis();
    const dir = sharedDataDir();
    env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      SECTION_DELAY_MIN_MS: String(SECTION_MS),
      SECTION_DELAY_MAX_MS: String(SECTION_MS),
      // Far longer than these tests wait: only a released lease lets another process continue in time.
      LEASE_TTL_MS: '60000',
      RECOVERY_INTERVAL_MS: '200',
      UPLOAD_DIR: `${dir}/uploads`,
      PDF_DIR: `${dir}/pdfs`,
    };
  });
  afterAll(async () => {
    await stopAllServers();
    await redis?.close();
  });

  const leaseKey = (id: string) => `${redis.prefix}{${id}}:lease`;

  function expectEachSectionOnce(done: Preview) {
    expect(done.metadata.completed_sections).toBe(5);
    expect(done.sections.every((s) => s.status === 'completed' && s.content_html.length > 0)).toBe(true);
    for (const [name, count] of Object.entries(sectionCounts(done))) {
      expect(count.completed, name).toBe(1);
      expect(count.generating, name).toBeLessThanOrEqual(2);
    }
    expect(done.logs.filter((l) => l.message === 'Document generation completed successfully!')).toHaveLength(1);
  }

  it('a stopped process leaves the workflow generating with its lease released, and a restarted one completes it', async () => {
    const first = await startServer('first', env);
    const id = await startWorkflow(first.url);
    await waitForProgress(first.url, id);

    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);
    const meta = await redis.client.hgetall(`${redis.prefix}{${id}}:meta`);
    expect(meta.status).toBe('generating');
    expect(Number(meta.completed_sections)).toBeLessThan(5);
    expect(await redis.client.exists(leaseKey(id))).toBe(0);

    const restarted = await startServer('restarted', env);
    const done = await waitUntilCompleted(restarted.url, id);
    expect(restarted.holdsLease(id)).toBe(true);
    expectEachSectionOnce(done);
    // It shares the key prefix with the next test: it must not be a third process there.
    restarted.signal('SIGTERM');
    expect(await restarted.exited).toBe(0);
  }, 60_000);

  it('another running process continues at once, without waiting for the lease to expire', async () => {
    // Neither the lease (60 s) nor a sweep (60 s) can explain a takeover within the wait below: only the
    // released lease's notification can.
    const slowSweep = { ...env, RECOVERY_INTERVAL_MS: '60000' };
    const [a, b] = await Promise.all([startServer('A', slowSweep), startServer('B', slowSweep)]);
    const id = await startWorkflow(a.url);
    await waitForProgress(a.url, id);
    const owner = await leaseOwner([a, b], id);
    const other = owner === a ? b : a;

    owner.signal('SIGTERM');
    expect(await owner.exited).toBe(0);
    // Finishing within the 20 s below means the owner released its lease and the other heard of it.
    const done = await waitUntilCompleted(other.url, id);
    expect(other.holdsLease(id)).toBe(true);
    expectEachSectionOnce(done);
  }, 60_000);
});
