import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PreviewService } from '../../src/workflow/preview.js';
import { noticeIfSkipped, redisAvailable } from '../helpers/redis.js';
import { redisHarness } from './harness.js';

noticeIfSkipped(redisAvailable, 'Redis preview cache tests');

const at = '2026-11-29T10:00:00.000Z';
const settings = { costPer1kTokens: 0.01, expectedSectionMs: 3500 };

// The preview of a generating petition on Redis is read in one call that answers the head, and the whole
// workflow only when its version moved past the cached parts (src/workflow/preview.ts). Two store connections stand for two processes: one polls, the other writes.
describe.skipIf(!redisAvailable)('Redis preview of a generating petition, polled in one process, written in another', () => {
  const redis = redisHarness();
  const connect = async () => (await redis.make({ ttlSeconds: 600 })).store;
  beforeAll(() => redis.setup());
  afterAll(() => redis.teardown());

  it('is answered from its cached parts while the version stands, and never stale once another process writes', async () => {
    const [polling, writing] = [await connect(), await connect()];
    const thread_id = 'b8a0f4f2-6a43-4d0c-9d53-3f5c2a7e1c01';
    await writing.create({
      head: { thread_id, case_id: 'C', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: at },
      sections: [{ section_id: 'memo', section_name: 'Memorandum', section_order: 1, status: 'pending', content_html: '', updated_at: at, tokens_used: 0 }],
      logs: [{ timestamp: at, level: 'info', message: 'Starting', agent: 'test' }],
    });
    expect(await writing.acquireLease(thread_id, 'loop', 60_000)).toBe(true);

    let now = Date.parse(at) + 1000;
    const preview = new PreviewService(polling, settings, { now: () => now });
    // What a process with nothing cached answers at the same moment, serializing everything (its own connection:
    // its reads are not counted).
    const reference = async () => new PreviewService(await connect(), settings, { now: () => now });
    const fresh = async () => (await (await reference()).render(thread_id))?.body?.toString();
    const reads = vi.spyOn(polling, 'getIfChanged');
    // Calls that answered the whole workflow (each one read, one round trip).
    const fulls = { count: 0 };
    const countFulls = async () => {
      fulls.count = 0;
      for (const r of reads.mock.results) if ((await r.value)?.workflow) fulls.count++;
      return fulls.count;
    };
    const poll = async (etag?: string) => {
      const r = await preview.render(thread_id, etag);
      return { etag: r!.etag, body: r!.body?.toString() ?? null };
    };

    const first = await poll();
    expect(JSON.parse(first.body!).sections[0].status).toBe('pending');
    expect(await countFulls()).toBe(1);

    now += 1000; // elapsed_time moved, the version did not: a new body, no full read
    const later = await poll(first.etag);
    expect(later.etag).not.toBe(first.etag);
    expect(later.body).toBe(await fresh());
    expect(await countFulls()).toBe(1);
    expect(reads).toHaveBeenCalledTimes(2);

    expect((await poll(later.etag)).body).toBeNull(); // same second, same version: 304 from the head alone
    expect(reads).toHaveBeenCalledTimes(3);
    expect(await countFulls()).toBe(1);

    // The other process writes a section, then a log line: each poll after it reads in full and shows it.
    await writing.updateSection(thread_id, 'memo', { status: 'in_progress', updated_at: at }, { leaseToken: 'loop' });
    const moved = await poll(later.etag);
    expect(JSON.parse(moved.body!).sections[0].status).toBe('in_progress');
    expect(moved.body).toBe(await fresh());
    expect(await countFulls()).toBe(2);

    await writing.appendLog(thread_id, { timestamp: at, level: 'info', message: 'written elsewhere', agent: 'test' });
    // Parsed afresh from Redis, yet the section kept its version: its JSON is not made again.
    const other = await reference();
    const stringify = vi.spyOn(JSON, 'stringify');
    let logged: Awaited<ReturnType<typeof poll>>;
    let reused: number;
    let full: number;
    try {
      logged = await poll(moved.etag);
      reused = stringify.mock.calls.length;
      stringify.mockClear();
      expect((await other.render(thread_id))?.body?.toString()).toBe(logged.body);
      full = stringify.mock.calls.length;
    } finally {
      stringify.mockRestore();
    }
    expect(reused).toBe(full - 1); // the section
    expect(JSON.parse(logged.body!).logs.at(-1).message).toBe('written elsewhere');
    expect(await countFulls()).toBe(3);
    expect(reads).toHaveBeenCalledTimes(5); // one store call per poll, whatever it found
  });
});
