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
  type ServerProcess,
} from './server-process.js';

noticeIfSkipped(redisAvailable, 'multi-process crash takeover test');

const SECTION_MS = 500;

describe.skipIf(!redisAvailable)('when the process running a loop is killed', () => {
  let redis: TestRedis;
  let servers: ServerProcess[];

  beforeAll(async () => {
    redis = await useRedis();
    const dir = sharedDataDir();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      SECTION_DELAY_MIN_MS: String(SECTION_MS),
      SECTION_DELAY_MAX_MS: String(SECTION_MS),
      LEASE_TTL_MS: '1500',
      RECOVERY_INTERVAL_MS: '200',
      UPLOAD_DIR: `${dir}/uploads`,
      PDF_DIR: `${dir}/pdfs`,
    };
    servers = await Promise.all([startServer('A', env), startServer('B', env)]);
  }, 60_000);
  afterAll(async () => {
    await stopAllServers();
    await redis?.close();
  });

  it('the other process takes the workflow over after the lease expires and completes it, each section once', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const id = await startWorkflow(a.url);
    await waitForProgress(a.url, id);

    // Either process may hold the loop (B's recovery sweep races A's own start); kill whichever does.
    const owner = await leaseOwner(servers, id);
    const survivor = owner === a ? b : a;
    expect(survivor.holdsLease(id)).toBe(false);
    owner.signal('SIGKILL');
    await owner.exited;

    const done = await waitUntilCompleted(survivor.url, id);
    expect(survivor.holdsLease(id)).toBe(true);
    expect(done.metadata.completed_sections).toBe(5);
    expect(done.sections.every((s) => s.status === 'completed' && s.content_html.length > 0)).toBe(true);
    for (const [name, count] of Object.entries(sectionCounts(done))) {
      expect(count.completed, name).toBe(1);
      // The section that was being written when the owner died is started again; no other.
      expect(count.generating, name).toBeGreaterThanOrEqual(1);
      expect(count.generating, name).toBeLessThanOrEqual(2);
    }
    const restarted = Object.values(sectionCounts(done)).filter((c) => c.generating === 2);
    expect(restarted.length).toBeLessThanOrEqual(1);
    expect(done.logs.filter((l) => l.message === 'Document generation completed successfully!')).toHaveLength(1);
  });
});
