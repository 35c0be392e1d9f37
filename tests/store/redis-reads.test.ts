import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { NewWorkflow, SectionPatch, WorkflowStore } from '../../src/store/workflow-store.js';
import type { Exhibit, LogEntry, Workflow } from '../../src/domain/types.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

noticeIfSkipped(redisAvailable, 'Redis cross-process read tests');

const CREATED = '2026-05-01T10:00:00.000Z';
const SECTION_IDS = ['intro', 'background', 'awards', 'membership', 'publications'];

function newWorkflow(): NewWorkflow {
  return {
    head: { thread_id: uuidv4(), case_id: 'c', user_id: 'u', document_type: 'petition', case_facts: { field: 'x', awards: [] }, status: 'generating', created_at: CREATED },
    sections: SECTION_IDS.map((section_id, i) => ({
      section_id, section_name: section_id, section_order: i + 1, status: 'pending', content_html: '', updated_at: CREATED, tokens_used: 0,
    })),
    logs: [line('Starting')],
  };
}
const line = (message: string): LogEntry => ({ timestamp: CREATED, level: 'info', message, agent: 'test' });
const exhibit = (id: string, size: number): Exhibit => ({
  exhibit_id: id, filename: `${id} ü.pdf`, stored_name: `${id}.pdf`, file_path: `/x/${id}.pdf`, file_size: size, mime_type: 'application/pdf', uploaded_at: CREATED,
});
const completed = (n: number): SectionPatch => ({
  status: 'completed', updated_at: CREATED, content_html: `<p>${'text “ü” '.repeat(50)}${n}</p>`, tokens_used: 3 * n, duration_ms: n,
  prompt_tokens: 2 * n, completion_tokens: n, citations: n % 2 ? [] : ['2.1.a', `x.${n}`], unknown_citations: n % 2 ? [] : [`x.${n}`],
});

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What both stores must agree on: everything but the write clock (`updated_at`), as JSON shows it. */
const comparable = (wf: Workflow | null) => wf && JSON.parse(JSON.stringify({ ...wf, updated_at: undefined }));

describe.skipIf(!redisAvailable)('Redis store: a process reads exactly what another wrote', () => {
  let redis: TestRedis;
  const stores: WorkflowStore[] = [];
  const connect = async () => {
    const s = await RedisWorkflowStore.connect({
      url: redis.url, keyPrefix: redis.prefix, ttlSeconds: 600, commandTimeoutMs: 2000, logger: pino({ level: 'silent' }),
    });
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis.close();
  });

  it('after any mix of writes, what the memory store holds after the same writes (the Lua rules are the domain rules)', async () => {
    const [reader, writer] = [await connect(), await connect()];
    const memory = new MemoryWorkflowStore({ ttlSeconds: 600 });
    stores.push(memory);
    const wf = newWorkflow();
    const id = wf.head.thread_id;
    // `call` runs once per store: whatever it writes is drawn before it.
    const both = async <T>(call: (s: WorkflowStore) => Promise<T>) => {
      const [a, b] = await Promise.all([call(writer), call(memory)]);
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    };
    await both((s) => s.create(wf));
    await both((s) => s.acquireLease(id, 'tok', 60_000));
    const next = random(20261207);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    let known = -1;
    for (let step = 0; step < 120; step++) {
      const op = next();
      const at = Date.parse(CREATED) + step * 1000;
      if (op < 0.4) {
        const sectionId = pick(SECTION_IDS);
        const patch: SectionPatch = pick([
          completed(step),
          { status: 'in_progress', updated_at: CREATED, content_html: '' },
          { status: 'in_progress', updated_at: CREATED, content_html: '', tokens_used: 0, prompt_tokens: 0, completion_tokens: 0 },
          { status: 'error', updated_at: CREATED, error_message: `broke at ${step}` },
        ]);
        const log = next() < 0.7 ? line(`section ${sectionId} at ${step}`) : undefined;
        await both((s) => s.updateSection(id, sectionId, patch, { leaseToken: 'tok', log }));
      } else if (op < 0.6) {
        // Sometimes more lines than a poll's window, or than the store keeps.
        const count = pick([1, 2, 7, 60, 130]);
        for (let i = 0; i < count; i++) await both((s) => s.appendLog(id, line(`step ${step} line ${i}`)));
      } else if (op < 0.7) {
        const upload = exhibit(pick(['a', 'b', 'c', 'd']), step);
        await both((s) => s.putExhibit(id, upload, line(`exhibit at ${step}`)));
      } else if (op < 0.85) {
        const to = pick(['generating', 'paused', 'error'] as const);
        await both((s) => s.transition(id, { from: ['generating', 'paused', 'error'], to, at, errorMessage: `failed at ${step}`, log: line(`to ${to}`) }).then((r) => r.ok));
      }
      // Reads of several windows, as the preview (50), the exhibit service (1) and the runner (0, all) make them.
      const logLimit = pick([undefined, 1, 3, 50, 100, 0]);
      const options = logLimit === undefined ? {} : { logLimit };
      const expected = comparable(await memory.get(id, options));
      if (next() < 0.5) {
        const polled = await reader.getIfChanged(id, known, options);
        expect(polled!.workflow === null, `step ${step}`).toBe(polled!.head.version === known);
        known = polled!.head.version;
        if (polled!.workflow) expect(comparable(polled!.workflow), `step ${step}`).toEqual(expected);
      }
      expect(comparable(await reader.get(id, options)), `step ${step}, logLimit ${logLimit}`).toEqual(expected);
    }
  });
});
