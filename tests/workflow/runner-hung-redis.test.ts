import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Section } from '../../src/domain/types.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import { GenerationRunner } from '../../src/workflow/runner.js';
import type { SectionWriter } from '../../src/workflow/section-writer.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

noticeIfSkipped(privateRedisAvailable, 'the generation loop on a hung Redis (SIGSTOP)');

const SECTIONS = ['intro', 'body', 'closing'];

/** Writes every section at once, citing an exhibit the workflow does not have (so a warning line follows). */
const writer: SectionWriter = {
  write: async ({ section }) => ({ content_html: `<p>${section.section_name}, as Exhibit Z shows.</p>`, tokens_used: 10 }),
};

describe.skipIf(!privateRedisAvailable)('the generation loop when Redis hangs during its writes', () => {
  let redis: PrivateRedis;
  let store: RedisWorkflowStore;
  let runner: GenerationRunner;
  /** Attempts of each write the test hangs, by name. */
  const attempts = new Map<string, number>();

  /**
   * Called before each attempt of a write the test hangs: the first attempt finds Redis stopped (it times
   * out, and so does the retry after it), the third wakes Redis, which then runs all three copies in order.
   */
  async function hangDuring(write: string) {
    const n = (attempts.get(write) ?? 0) + 1;
    attempts.set(write, n);
    if (n === 1) {
      redis.freeze();
      await redis.frozen();
    }
    if (n === 3) redis.thaw();
  }

  beforeAll(async () => {
    redis = await startPrivateRedis();
    store = await RedisWorkflowStore.connect({
      url: redis.url,
      keyPrefix: 'hung-loop:',
      ttlSeconds: 600,
      commandTimeoutMs: 200,
      logger: pino({ level: 'silent' }),
    });
    const updateSection = store.updateSection.bind(store);
    store.updateSection = async (threadId, sectionId, patch, options) => {
      if (patch.status === 'completed') await hangDuring(`complete ${sectionId}`);
      return updateSection(threadId, sectionId, patch, options);
    };
    const appendLog = store.appendLog.bind(store);
    store.appendLog = async (threadId, entry, options) => {
      await hangDuring(`log ${entry.message}`);
      return appendLog(threadId, entry, options);
    };
    const transition = store.transition.bind(store);
    store.transition = async (threadId, t) => {
      if (t.to === 'completed') await hangDuring('finish');
      return transition(threadId, t);
    };
    runner = new GenerationRunner({
      store,
      writer,
      logger: pino({ level: 'silent' }),
      leaseTtlMs: 60_000,
      recoveryIntervalMs: 60_000,
      flushMs: 1000,
      retryBaseMs: 20,
      retryMaxMs: 100,
    });
  });
  afterAll(async () => {
    redis?.thaw();
    await runner?.close();
    await store?.close();
    await redis?.stop();
  });

  it('writes each section, each log line and the completion once, though Redis ran every timed-out copy', async () => {
    const id = uuidv4();
    const now = new Date().toISOString();
    const sections: Section[] = SECTIONS.map((s, i) => ({
      section_id: s, section_name: `Section ${s}`, section_order: i + 1, status: 'pending', content_html: '', updated_at: now, tokens_used: 0,
    }));
    await store.create({
      head: { thread_id: id, case_id: 'c', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: now },
      sections,
      logs: [],
    });

    runner.ensureRunning(id);
    await waitFor(async () => (await store.getHead(id))?.status === 'completed' && !runner.isRunning(id), { timeoutMs: 30_000 });

    // Every hung write was sent at least three times: the first two copies timed out and ran later.
    expect(attempts.size).toBe(SECTIONS.length * 2 + 1);
    for (const n of attempts.values()) expect(n).toBeGreaterThanOrEqual(3);
    const wf = (await store.get(id))!;
    const count = (message: string) => wf.logs.filter((l) => l.message === message).length;
    for (const s of SECTIONS) {
      expect(count(`Completed section: Section ${s} (10 tokens)`)).toBe(1);
      expect(count(`Section ${s} cites Exhibit Z, which is not an exhibit of this document`)).toBe(1);
    }
    expect(count('Document generation completed successfully!')).toBe(1);
    // Created, then per section its start, its completion and its warning, then the completion: one version each.
    expect(wf).toMatchObject({ status: 'completed', completed_sections: 3, total_tokens: 30, version: 1 + SECTIONS.length * 3 + 1 });
  });
});
