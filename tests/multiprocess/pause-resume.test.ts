import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';
import {
  api,
  preview,
  sectionCounts,
  sharedDataDir,
  startServer,
  startWorkflow,
  stopAllServers,
  waitForProgress,
  waitUntilCompleted,
  type ServerProcess,
} from './server-process.js';

noticeIfSkipped(redisAvailable, 'multi-process pause/resume test');

const SECTION_MS = 400;

describe.skipIf(!redisAvailable)('two processes on one Redis: start on A, pause and resume on B', () => {
  let redis: TestRedis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await useRedis();
    const dir = sharedDataDir();
    const env = (recoveryMs: number) => ({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      SECTION_DELAY_MIN_MS: String(SECTION_MS),
      SECTION_DELAY_MAX_MS: String(SECTION_MS),
      LEASE_TTL_MS: '3000',
      RECOVERY_INTERVAL_MS: String(recoveryMs),
      UPLOAD_DIR: `${dir}/uploads`,
      PDF_DIR: `${dir}/pdfs`,
    });
    // B sweeps only at its start (before the workflow exists), so the loop surely starts on A, where the
    // request lands; afterwards only pause/resume move it.
    [b, a] = await Promise.all([startServer('B', env(3_600_000)), startServer('A', env(3_600_000))]);
  }, 60_000);
  afterAll(async () => {
    await stopAllServers();
    await redis?.close();
  });

  it('stops A’s loop at the next section boundary and continues with exactly one loop; each section written once', async () => {
    const id = await startWorkflow(a.url);
    await waitForProgress(b.url, id);
    expect(a.holdsLease(id)).toBe(true);
    expect(b.holdsLease(id)).toBe(false);

    const paused = await api(b.url, 'POST', `/api/pause/${id}`);
    expect(paused).toEqual({ status: 200, body: { status: 'paused', message: 'Document generation paused successfully' } });

    // A finishes the section it was writing, then starts no other.
    const settled = await waitForProgress(a.url, id, { settled: true });
    // A's loop ends at that boundary (and only then gives the lease up): nothing after it can start a section.
    await waitFor(() => a.loopsEnded(id) >= 1, { timeoutMs: 10_000 });
    const later = await preview(b.url, id);
    expect(later.status).toBe('paused');
    expect(later.metadata.completed_sections).toBe(settled.metadata.completed_sections);
    expect(later.metadata.completed_sections).toBeLessThan(5);
    expect(await redis.client.exists(`${redis.prefix}{${id}}:lease`)).toBe(0);

    const resumed = await api(b.url, 'POST', `/api/resume/${id}`);
    expect(resumed).toEqual({ status: 200, body: { status: 'generating', message: 'Document generation resumed successfully' } });
    const done = await waitUntilCompleted(a.url, id);

    expect(b.holdsLease(id)).toBe(true);
    expect(done.metadata.completed_sections).toBe(5);
    expect(done.sections.every((s) => s.status === 'completed' && s.content_html.length > 0)).toBe(true);
    for (const [name, count] of Object.entries(sectionCounts(done))) {
      expect(count, name).toEqual({ generating: 1, completed: 1 });
    }
    expect(done.logs.filter((l) => l.message === 'Document generation completed successfully!')).toHaveLength(1);
    expect(done.logs.filter((l) => l.message === 'Document generation paused by user')).toHaveLength(1);
    expect(done.logs.filter((l) => l.message === 'Document generation resumed')).toHaveLength(1);
  });

  it('after rapid pause/resume cycles spread over both processes, each section is still written exactly once', async () => {
    const id = await startWorkflow(a.url);
    let cycles = 0;
    for (let i = 0; i < 12; i++) {
      const [pauser, resumer] = i % 2 === 0 ? [a, b] : [b, a];
      const paused = await api(pauser.url, 'POST', `/api/pause/${id}`);
      if (paused.status !== 200) {
        // Finished already: the only way a pause from a resumed state can be refused.
        expect(paused.body.detail).toContain("'completed'");
        break;
      }
      expect((await api(resumer.url, 'POST', `/api/resume/${id}`)).status).toBe(200);
      cycles++;
      await new Promise((r) => setTimeout(r, (i * 37) % 150));
    }
    expect(cycles).toBeGreaterThan(0);

    const done = await waitUntilCompleted(b.url, id);
    expect(done.metadata.completed_sections).toBe(5);
    for (const [name, count] of Object.entries(sectionCounts(done))) {
      expect(count, name).toEqual({ generating: 1, completed: 1 });
    }
    expect(done.logs.filter((l) => l.message === 'Document generation completed successfully!')).toHaveLength(1);
    expect(done.logs.filter((l) => l.message === 'Document generation paused by user')).toHaveLength(cycles);
  });
});
