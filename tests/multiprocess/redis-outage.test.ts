import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import {
  api,
  sectionCounts,
  sharedDataDir,
  startServer,
  startWorkflow,
  stopAllServers,
  waitForProgress,
  waitUntilCompleted,
  type ServerProcess,
} from './server-process.js';

noticeIfSkipped(privateRedisAvailable, 'Redis outage test of a running server (needs a private redis-server)');

const SECTION_MS = 400;

describe.skipIf(!privateRedisAvailable)('when Redis dies under a running server and comes back', () => {
  let redis: PrivateRedis;
  let server: ServerProcess;

  beforeAll(async () => {
    redis = await startPrivateRedis({ durable: true });
    const dir = sharedDataDir();
    server = await startServer('app', {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'outage:',
      SECTION_DELAY_MIN_MS: String(SECTION_MS),
      SECTION_DELAY_MAX_MS: String(SECTION_MS),
      LEASE_TTL_MS: '1000',
      RECOVERY_INTERVAL_MS: '200',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      UPLOAD_DIR: `${dir}/uploads`,
      PDF_DIR: `${dir}/pdfs`,
    });
  }, 60_000);
  afterAll(async () => {
    await stopAllServers();
    await redis?.stop();
  });

  it('answers 503 STORE_UNAVAILABLE meanwhile, stays up, and completes the workflow afterwards', async () => {
    const id = await startWorkflow(server.url);
    await waitForProgress(server.url, id);

    await redis.kill();
    const unavailable = { status: 503, body: { detail: expect.any(String), code: 'STORE_UNAVAILABLE' } };
    expect(await api(server.url, 'GET', `/api/document/preview/${id}`)).toEqual(unavailable);
    expect(await api(server.url, 'POST', `/api/pause/${id}`)).toEqual(unavailable);
    expect(await api(server.url, 'POST', '/api/generate-petition', { case_id: 'c', user_id: 'u' })).toEqual(unavailable);
    expect(await api(server.url, 'GET', '/readyz')).toEqual(unavailable);
    expect(await api(server.url, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    // A burst of polls is answered, not queued behind the outage.
    const burst = await Promise.all(Array.from({ length: 50 }, () => api(server.url, 'GET', `/api/document/preview/${id}`)));
    expect(burst.every((r) => r.status === 503)).toBe(true);
    // The loop retries with backoff (100, 200, 400, 800 ms …): by its fifth retry line it has waited 1.5 s,
    // longer than its lease.
    await waitFor(() => server.output().split('\n').filter((l) => l.includes('generation loop retrying')).length >= 5, { timeoutMs: 15_000 });
    expect(server.output()).not.toMatch(/Failed to start|uncaught|unhandled/i);

    await redis.restart();
    await waitFor(async () => (await api(server.url, 'GET', '/readyz')).status === 200, { timeoutMs: 15_000, intervalMs: 100 });
    const done = await waitUntilCompleted(server.url, id);
    expect(done.metadata.completed_sections).toBe(5);
    expect(done.sections.every((s) => s.status === 'completed' && s.content_html.length > 0)).toBe(true);
    for (const [name, count] of Object.entries(sectionCounts(done))) {
      expect(count.completed, name).toBe(1);
      expect(count.generating, name).toBeLessThanOrEqual(2);
    }
    expect(done.logs.filter((l) => l.message === 'Document generation completed successfully!')).toHaveLength(1);
  });
});
