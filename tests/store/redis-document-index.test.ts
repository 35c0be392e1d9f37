import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentIndex } from '../../src/store/redis/document-index.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { NewWorkflow } from '../../src/store/workflow-store.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

noticeIfSkipped(redisAvailable, 'Redis document index tests');

const MINUTE = 60_000;
let counter = 0;
const unique = (label: string) => `${label}-${process.pid}-${++counter}`;

function newWorkflow(user: string, at = Date.now(), id = uuidv4()): NewWorkflow {
  const created_at = new Date(at).toISOString();
  return {
    head: { thread_id: id, case_id: 'c', user_id: user, document_type: 'memo', case_facts: null, status: 'generating', created_at },
    sections: [{ section_id: 'memo', section_name: 'Memorandum', section_order: 1, status: 'pending', content_html: '', updated_at: created_at, tokens_used: 0 }],
    logs: [],
  };
}

/** The store's index (private): the tests reach in to break one of the two steps on purpose. */
const indexOf = (store: RedisWorkflowStore) => (store as unknown as { documents: DocumentIndex }).documents;

describe.skipIf(!redisAvailable)('Redis store: the document indexes', () => {
  let redis: TestRedis;
  let store: RedisWorkflowStore;
  const stores: RedisWorkflowStore[] = [];
  const connect = async (ttlSeconds = 600, prefix = redis.prefix) => {
    const s = await RedisWorkflowStore.connect({
      url: redis.url,
      keyPrefix: prefix,
      ttlSeconds,
      commandTimeoutMs: 2000,
      logger: pino({ level: 'silent' }),
    });
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await useRedis();
    store = await connect();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis.close();
  });

  const listed = async (user: string, s = store, statuses?: Array<'generating' | 'paused'>) =>
    (await s.listDocuments({ user_id: user, statuses, limit: 20 })).items.map((i) => i.thread_id);
  const indexed = async (id: string, s = store) => (await redis.client.hexists(indexOf(s).docsKey, id)) === 1;

  it('keeps every index key under the {list} hash tag: one Cluster slot, none of a workflow\'s', async () => {
    const user = unique('slots');
    await store.create(newWorkflow(user));
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    const workflowKey = new RegExp(`^${redis.prefix}\\{[0-9a-f-]{36}\\}:`);
    const global = new Set([`${redis.prefix}active`, `${redis.prefix}generating`]);
    const indexKeys = keys.filter((k) => !workflowKey.test(k) && !global.has(k));
    expect(indexKeys).toEqual(
      expect.arrayContaining([`${redis.prefix}{list}:docs`, `${redis.prefix}{list}:due`, `${redis.prefix}{list}:all`, `${redis.prefix}{list}:u=${user}/s=generating`]),
    );
    // Every other key carries the tag first, so Redis hashes "list" for all of them.
    for (const key of indexKeys) expect(key.startsWith(`${redis.prefix}{list}:`)).toBe(true);
  });

  it('between a transition and its index step, a page shows only what the workflow says, and repairs the index', async () => {
    const user = unique('between');
    const wf = newWorkflow(user);
    const id = wf.head.thread_id;
    await store.create(wf);
    const index = indexOf(store);
    const put = index.put.bind(index);
    index.put = async () => {
      throw new Error('index step lost');
    };
    try {
      expect((await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() })).ok).toBe(true);
    } finally {
      index.put = put;
    }
    // Still filed under generating: the generating page leaves it out (its head says paused) and moves it.
    expect(await listed(user, store, ['generating'])).toEqual([]);
    expect(await listed(user, store, ['paused'])).toEqual([id]);
    expect((await store.listDocuments({ user_id: user, limit: 5 })).items[0]).toMatchObject({ status: 'paused' });
    expect(await redis.client.zcard(`${index.base}u=${user}/s=generating`)).toBe(0);
  });

  it('between the index step of a create and its workflow write, the entry is skipped and kept', async () => {
    const user = unique('create');
    const wf = newWorkflow(user);
    await indexOf(store).put({ ...wf.head, version: 0 });
    expect(await listed(user)).toEqual([]);
    expect(await indexed(wf.head.thread_id)).toBe(true);
    await store.create(wf);
    expect(await listed(user)).toEqual([wf.head.thread_id]);
  });

  it('drops on read the entry of a workflow that is gone (a create that failed, a delete whose index step failed)', async () => {
    const user = unique('gone');
    const old = Date.now() - 10 * MINUTE;
    const neverWritten = newWorkflow(user, old);
    await indexOf(store).put({ ...neverWritten.head, version: 0 });

    const deleted = newWorkflow(user, old + 1);
    await store.create(deleted);
    const index = indexOf(store);
    const drop = index.drop.bind(index);
    index.drop = async () => {
      throw new Error('index step lost');
    };
    try {
      expect(await store.delete(deleted.head.thread_id)).toBe(true);
    } finally {
      index.drop = drop;
    }
    expect(await indexed(deleted.head.thread_id)).toBe(true);

    expect(await listed(user)).toEqual([]);
    expect(await indexed(neverWritten.head.thread_id)).toBe(false);
    expect(await indexed(deleted.head.thread_id)).toBe(false);
    expect(await redis.client.zcard(`${index.base}u=${user}`)).toBe(0);
  });

  it('drops the entries of expired workflows by itself, without a read, and keeps those still written', async () => {
    const short = await connect(1);
    const user = unique('sweep');
    const lapsing = [newWorkflow(user), newWorkflow(user)];
    for (const wf of lapsing) await short.create(wf);
    const kept = newWorkflow(user);
    await short.create(kept);
    const ids = lapsing.map((wf) => wf.head.thread_id);
    expect(await Promise.all(ids.map((id) => indexed(id, short)))).toEqual([true, true]);

    // The sweep runs every second for a 1 s TTL; the kept workflow is written more often than that.
    await waitFor(
      async () => {
        await short.appendLog(kept.head.thread_id, { timestamp: new Date().toISOString(), level: 'info', message: 'still here', agent: 't' });
        const flags = await Promise.all(ids.map((id) => indexed(id, short)));
        return flags.every((f) => !f);
      },
      { timeoutMs: 10_000, intervalMs: 300 },
    );
    expect(await indexed(kept.head.thread_id, short)).toBe(true);
    expect(await redis.client.zscore(indexOf(short).dueKey, ids[0]!)).toBeNull();
    expect(await redis.client.zcard(`${indexOf(short).base}u=${user}`)).toBe(1);
  });

  it('reads the same few entries for a page whatever the number stored, with no KEYS or SCAN', async () => {
    const prefix = `${redis.prefix}cost:`;
    const s = await connect(600, prefix);
    const base = Date.now() - 60 * MINUTE;
    const fill = async (n: number, from: number) => {
      for (let i = 0; i < n; i += 250) {
        const batch = Array.from({ length: Math.min(250, n - i) }, (_, j) => newWorkflow(`cost-${(i + j) % 7}`, base - from - i - j));
        await Promise.all(batch.map((wf) => s.create(wf)));
      }
    };
    const costOfPage = async () => {
      await redis.client.config('RESETSTAT');
      const page = await s.listDocuments({ limit: 20 });
      const byUser = await s.listDocuments({ user_id: 'cost-3', statuses: ['generating', 'paused'], limit: 20 });
      const stats = await redis.client.info('commandstats');
      const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      expect(page.items).toHaveLength(20);
      expect(byUser.items).toHaveLength(20);
      return { zrange: calls('zrange'), hget: calls('hget'), hmget: calls('hmget'), scan: calls('scan'), keys: calls('keys') };
    };
    await fill(200, 0);
    const small = await costOfPage();
    await fill(3000, 1000);
    const large = await costOfPage();
    expect(large).toEqual(small);
    expect(small.scan + small.keys).toBe(0);
    // Per page, twenty-one entries (one more than the page says whether there is a next): their attributes in
    // one read and each one's head.
    expect(small.hmget).toBe(2 * (1 + 21));
  }, 60_000);
});
