import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import { KeySpace } from '../../src/store/redis/keys.js';
import { read5 } from '../../src/store/redis/scripts.js';
import type { NewWorkflow, SectionPatch } from '../../src/store/workflow-store.js';
import type { Exhibit, LogEntry } from '../../src/domain/types.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

noticeIfSkipped(redisAvailable, 'Redis delta read tests');

const CREATED = '2026-05-01T10:00:00.000Z';
const SECTION_IDS = ['intro', 'background', 'awards', 'membership', 'conclusion'];

function newWorkflow(id = uuidv4()): NewWorkflow {
  return {
    head: { thread_id: id, case_id: 'c', user_id: 'u', document_type: 'petition', case_facts: null, status: 'generating', created_at: CREATED },
    sections: SECTION_IDS.map((section_id, i) => ({
      section_id, section_name: section_id, section_order: i + 1, status: 'pending', content_html: '', updated_at: CREATED, tokens_used: 0,
    })),
    logs: [line('Starting')],
  };
}
const line = (message: string): LogEntry => ({ timestamp: CREATED, level: 'info', message, agent: 'test' });
const exhibit = (id: string, size = 1): Exhibit => ({
  exhibit_id: id, filename: `${id}.pdf`, stored_name: `${id}.pdf`, file_path: `/x/${id}.pdf`, file_size: size, mime_type: 'application/pdf', uploaded_at: CREATED,
});
const completed = (n: number): SectionPatch => ({
  status: 'completed', updated_at: CREATED, content_html: `<p>${'text '.repeat(200)}${n}</p>`, tokens_used: n, duration_ms: n,
});

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe.skipIf(!redisAvailable)('Redis store: reads that send only what changed', () => {
  let redis: TestRedis;
  const stores: RedisWorkflowStore[] = [];
  const connect = async () => {
    const s = await RedisWorkflowStore.connect({
      url: redis.url, keyPrefix: redis.prefix, ttlSeconds: 600, commandTimeoutMs: 2000, logger: pino({ level: 'silent' }),
    });
    stores.push(s);
    return s;
  };
  /** What a process that has read nothing yet reads: the reference every held read must equal. */
  const fresh = async (id: string, logLimit?: number) => {
    const s = await connect();
    try {
      return await s.get(id, logLimit === undefined ? {} : { logLimit });
    } finally {
      stores.splice(stores.indexOf(s), 1);
      await s.close();
    }
  };

  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis.close();
  });

  it('reads, after any mix of another process’s writes, exactly what a process holding nothing reads', async () => {
    const [reader, writer] = [await connect(), await connect()];
    const wf = newWorkflow();
    const id = wf.head.thread_id;
    await writer.create(wf);
    await writer.acquireLease(id, 'tok', 60_000);
    const next = random(20261207);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    let known = -1;
    for (let step = 0; step < 120; step++) {
      const op = next();
      if (op < 0.35) {
        const sectionId = pick(SECTION_IDS);
        const following = next() < 0.5 ? pick(SECTION_IDS) : null;
        await writer.updateSection(id, sectionId, next() < 0.5 ? completed(step) : { status: 'in_progress', updated_at: CREATED }, {
          leaseToken: 'tok',
          log: next() < 0.7 ? line(`section ${sectionId} at ${step}`) : undefined,
          next: following ? { sectionId: following, patch: { status: 'in_progress', updated_at: CREATED }, log: line(`next ${following}`) } : undefined,
        });
      } else if (op < 0.55) {
        // Sometimes more lines than a poll's window, or than Redis keeps.
        const count = pick([1, 2, 7, 60, 130]);
        for (let i = 0; i < count; i++) await writer.appendLog(id, line(`step ${step} line ${i}`));
      } else if (op < 0.65) {
        await writer.putExhibit(id, exhibit(pick(['a', 'b', 'c', 'd']), step), line(`exhibit at ${step}`));
      } else if (op < 0.75) {
        const paused = (await writer.getHead(id))!.status === 'paused';
        await writer.transition(id, {
          from: paused ? ['paused'] : ['generating'], to: paused ? 'generating' : 'paused', at: Date.now(), log: line(`toggle ${step}`),
        });
      }
      // Reads of several windows, as the preview (50), the exhibit service (1) and the runner (all) make them.
      const logLimit = pick([undefined, 1, 3, 50, 100, 0]);
      const options = logLimit === undefined ? {} : { logLimit };
      if (next() < 0.3) {
        const polled = await reader.getIfChanged(id, known, options);
        known = polled!.head.version;
        if (!polled!.workflow) continue;
      }
      const held = await reader.get(id, options);
      expect(held, `step ${step}, logLimit ${logLimit}`).toEqual(await fresh(id, logLimit));
    }
  });

  it('never builds on the parts of a deleted workflow when one of the same id and creation time follows', async () => {
    const [reader, writer] = [await connect(), await connect()];
    const id = uuidv4();
    await writer.create(newWorkflow(id));
    await writer.acquireLease(id, 'tok', 60_000);
    await writer.updateSection(id, 'intro', completed(1), { leaseToken: 'tok' });
    const old = await reader.get(id);
    expect(old!.sections[0]!.status).toBe('completed');

    await writer.delete(id);
    await writer.create(newWorkflow(id));
    await writer.acquireLease(id, 'tok', 60_000);
    // Past the version the reader holds, with other sections stamped than the ones it holds changed.
    for (let i = 0; i < (old!.version + 2); i++) await writer.updateSection(id, 'awards', completed(100 + i), { leaseToken: 'tok' });
    const now = await reader.get(id);
    expect(now!.version).toBeGreaterThan(old!.version);
    expect(now!.sections.find((s) => s.section_id === 'intro')!.status).toBe('pending');
    expect(now).toEqual(await fresh(id));
  });

  it('answers a held version with the changed section and the new lines only, and the exhibits only when one changed', async () => {
    const store = await connect();
    const wf = newWorkflow();
    const id = wf.head.thread_id;
    await store.create(wf);
    await store.acquireLease(id, 'tok', 60_000);
    await store.putExhibit(id, exhibit('a'));
    const base = await store.get(id);
    const meta = await redis.client.hgetall(`${redis.prefix}{${id}}:meta`);
    const k = new KeySpace(redis.prefix).of(id);
    const keys = [k.meta, k.sections, k.exhibits, k.exhibitOrder, k.logs];
    const read = (fromVersion: number, logsTotal: string) =>
      redis.client.eval(read5.lua, 5, ...keys, -1, 50, fromVersion, logsTotal, meta.incarnation!) as Promise<unknown[]>;

    await store.updateSection(id, 'awards', completed(7), { leaseToken: 'tok', log: line('awards done') });
    const delta = await read(base!.version, meta.logs_total!);
    expect(delta[5]).toBe('delta');
    expect((delta[1] as string[]).map((s) => JSON.parse(s).section_id)).toEqual(['awards']);
    expect(delta[2]).toEqual([]);
    expect((delta[4] as string[]).map((l) => JSON.parse(l).message)).toEqual(['awards done']);

    await store.putExhibit(id, exhibit('b'));
    const withExhibits = await read(base!.version + 1, String(Number(meta.logs_total) + 1));
    expect(withExhibits[5]).toBe('delta+exhibits');
    expect(withExhibits[1]).toEqual([]);
    expect(withExhibits[3]).toEqual(['a', 'b']);

    // Another incarnation's token, or none: everything.
    const full = (await redis.client.eval(read5.lua, 5, ...keys, -1, 50, base!.version, meta.logs_total!, 'other')) as unknown[];
    expect(full).toHaveLength(5);
    expect(full[1]).toHaveLength(SECTION_IDS.length);
  });
});
