import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { NewWorkflow, WorkflowChange } from '../../src/store/workflow-store.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

noticeIfSkipped(redisAvailable, 'Redis key layout tests');

const TTL_SECONDS = 600;

function newWorkflow(): NewWorkflow {
  const now = new Date().toISOString();
  return {
    head: { thread_id: uuidv4(), case_id: 'c', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: now },
    sections: [{ section_id: 'memo', section_name: 'Memorandum', section_order: 1, status: 'pending', content_html: '', updated_at: now, tokens_used: 0 }],
    logs: [{ timestamp: now, level: 'info', message: 'Starting', agent: 'test' }],
  };
}

describe.skipIf(!redisAvailable)('Redis store: keys, TTL and the active index', () => {
  let redis: TestRedis;
  let store: RedisWorkflowStore;
  const stores: RedisWorkflowStore[] = [];
  const connect = async (ttlSeconds = TTL_SECONDS) => {
    const s = await RedisWorkflowStore.connect({
      url: redis.url,
      keyPrefix: redis.prefix,
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

  /** Every key of one workflow, found with SCAN on its hash-tagged prefix. */
  async function keysOf(threadId: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}{${threadId}}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  }

  async function fullyPopulated(): Promise<string> {
    const wf = newWorkflow();
    const id = wf.head.thread_id;
    await store.create(wf);
    await store.acquireLease(id, 'tok', 60_000);
    await store.putExhibit(id, {
      exhibit_id: 'a', filename: 'a.pdf', stored_name: 'a_a.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: new Date().toISOString(),
    });
    return id;
  }

  it('puts every key of a workflow under the prefix and its {thread_id} hash tag (one Cluster slot)', async () => {
    const id = await fullyPopulated();
    const keys = await keysOf(id);
    expect(keys.map((k) => k.slice(`${redis.prefix}{${id}}:`.length))).toEqual(
      ['exhibit-order', 'exhibits', 'lease', 'logs', 'meta', 'sections'],
    );
    const slots = new Set(await Promise.all(keys.map((k) => redis.client.call('CLUSTER', 'KEYSLOT', k).catch(() => null))));
    // CLUSTER KEYSLOT works on a standalone server too; one slot for all of them.
    expect(slots.size).toBe(1);
  });

  it('gives every workflow key the workflow TTL, and the lease its own shorter one', async () => {
    const id = await fullyPopulated();
    for (const key of await keysOf(id)) {
      const ttl = await redis.client.pttl(key);
      const [min, max] = key.endsWith(':lease') ? [1, 60_000] : [(TTL_SECONDS - 10) * 1000, TTL_SECONDS * 1000];
      expect(ttl, key).toBeGreaterThanOrEqual(min);
      expect(ttl, key).toBeLessThanOrEqual(max);
    }
  });

  it('refreshes the TTL of every workflow key on each write', async () => {
    const id = await fullyPopulated();
    const keys = (await keysOf(id)).filter((k) => !k.endsWith(':lease'));
    const writes = [
      () => store.appendLog(id, { timestamp: new Date().toISOString(), level: 'info', message: 'x', agent: 't' }),
      () => store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() }),
      () => store.updateSection(id, 'memo', { status: 'in_progress', updated_at: new Date().toISOString() }, { leaseToken: 'tok' }),
      () => store.putExhibit(id, {
        exhibit_id: 'b', filename: 'b.pdf', stored_name: 'b_b.pdf', file_path: '/y', file_size: 1, mime_type: 'application/pdf', uploaded_at: new Date().toISOString(),
      }),
    ];
    for (const write of writes) {
      for (const key of keys) await redis.client.pexpire(key, 5000);
      await write();
      for (const key of keys) expect(await redis.client.pttl(key), key).toBeGreaterThan(5000);
    }
  });

  it('never leaves a key without a TTL', async () => {
    await fullyPopulated();
    let cursor = '0';
    do {
      const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}{*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        // The list indexes are global, like the active index: their entries go by pruning, not by TTL.
        if (key.startsWith(`${redis.prefix}{list}:`)) continue;
        expect(await redis.client.pttl(key), key).toBeGreaterThan(0);
      }
    } while (cursor !== '0');
  });

  it('keeps the active index from growing with expired workflows, and keeps workflows written since', async () => {
    const short = await connect(1);
    const dies = newWorkflow();
    const lives = newWorkflow();
    await short.create(dies);
    await short.create(lives);
    // Until the one left alone has expired (both index scores have passed then), the other is written.
    await waitFor(
      async () => {
        await short.appendLog(lives.head.thread_id, { timestamp: new Date().toISOString(), level: 'info', message: 'keep', agent: 't' });
        return (await short.getHead(dies.head.thread_id)) === null;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const active = await short.listActive();
    expect(active).toContain(lives.head.thread_id);
    expect(active).not.toContain(dies.head.thread_id);
    expect(await redis.client.zscore(`${redis.prefix}active`, dies.head.thread_id)).toBeNull();
    expect(Number(await redis.client.zscore(`${redis.prefix}active`, lives.head.thread_id))).toBeGreaterThan(Date.now());
  });

  it('tolerates index entries whose workflow is gone (a create that failed halfway)', async () => {
    const ghost = uuidv4();
    await redis.client.zadd(`${redis.prefix}active`, Date.now() - 1, ghost);
    expect(await store.listActive()).not.toContain(ghost);
    expect(await redis.client.zscore(`${redis.prefix}active`, ghost)).toBeNull();
  });

  it('keeps the generating index to generating workflows: finished, paused, deleted and ghost entries are dropped', async () => {
    const key = `${redis.prefix}generating`;
    const members = async () => new Set(await redis.client.smembers(key));
    const [done, paused, deleted, running] = [newWorkflow(), newWorkflow(), newWorkflow(), newWorkflow()];
    for (const wf of [done, paused, deleted, running]) await store.create(wf);
    const ghost = uuidv4(); // a create whose script failed after the index write
    await redis.client.sadd(key, ghost);
    await store.transition(done.head.thread_id, { from: ['generating'], to: 'completed', at: Date.now() });
    await store.transition(paused.head.thread_id, { from: ['generating'], to: 'paused', at: Date.now() });
    await store.delete(deleted.head.thread_id);
    expect(await members()).not.toContain(deleted.head.thread_id); // removed with the workflow

    const listed = await store.listGenerating();
    expect(listed).toContain(running.head.thread_id);
    const after = await members();
    for (const id of [done.head.thread_id, paused.head.thread_id, ghost]) {
      expect(listed).not.toContain(id);
      expect(after).not.toContain(id);
    }
    expect(after).toContain(running.head.thread_id);
    // Resumed, it is indexed again.
    await store.transition(paused.head.thread_id, { from: ['paused'], to: 'generating', at: Date.now() });
    expect(await members()).toContain(paused.head.thread_id);
  });

  it('delivers changes made by one process to every other process (pub/sub)', async () => {
    const other = await connect();
    const seen: WorkflowChange[] = [];
    await new Promise<void>((ready) => other.subscribe((c) => seen.push(c), ready));
    const wf = newWorkflow();
    await store.create(wf);
    await store.transition(wf.head.thread_id, { from: ['generating'], to: 'paused', at: Date.now() });
    await waitFor(() => seen.filter((c) => c.thread_id === wf.head.thread_id).length === 2, { timeoutMs: 5000 });
    expect(seen.filter((c) => c.thread_id === wf.head.thread_id).map((c) => c.kind)).toEqual(['created', 'status']);
  });

  it('subscribes the change channel only while someone listens, says when it is in place, and again after a lost connection', async () => {
    const other = await connect();
    const channel = `${redis.prefix}changes`;
    const subscribers = async () => ((await redis.client.pubsub('NUMSUB', channel)) as [string, number])[1];
    const baseline = await subscribers(); // other stores of this file that listen
    // A process that only takes over released leases (every server runs that) receives no changes.
    const leaseSubscribers = async () => ((await redis.client.pubsub('NUMSUB', `${redis.prefix}leases`)) as [string, number])[1];
    const leaseBaseline = await leaseSubscribers();
    other.onLeaseReleased(() => {});
    await waitFor(async () => (await leaseSubscribers()) === leaseBaseline + 1, { timeoutMs: 5000 });
    expect(await subscribers()).toBe(baseline);

    let ready = 0;
    const seen: WorkflowChange[] = [];
    const stop = other.subscribe((c) => seen.push(c), () => ready++);
    await waitFor(() => ready === 1, { timeoutMs: 5000 });
    expect(await subscribers()).toBe(baseline + 1); // in place when onReady runs
    const wf = newWorkflow();
    await store.create(wf);
    await waitFor(() => seen.some((c) => c.thread_id === wf.head.thread_id), { timeoutMs: 5000 });

    // The subscriber connection dropped: once it is back and subscribed again, onReady runs again. (The
    // connections are named after the prefix, which is this file's own.)
    const clients = (await redis.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const ids = clients
      .split('\n')
      .filter((line) => line.includes(` name=${redis.prefix}subscriber `))
      .map((line) => /id=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await redis.client.call('CLIENT', 'KILL', 'ID', id!);
    await waitFor(() => ready === 2, { timeoutMs: 5000 });
    expect(await subscribers()).toBeGreaterThanOrEqual(baseline + 1);

    stop();
    await waitFor(async () => (await subscribers()) === baseline, { timeoutMs: 5000 });
    expect(ready).toBe(2);
  });

  it('is written without the KEYS command anywhere in the source', () => {
    const root = fileURLToPath(new URL('../../src', import.meta.url));
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    for (const file of files) {
      const text = readFileSync(path.join(root, file), 'utf8');
      expect(text, file).not.toMatch(/\.keys\(\s*['"`]|['"]KEYS['"]/i);
    }
  });
});
