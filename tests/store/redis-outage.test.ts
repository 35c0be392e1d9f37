import { pino } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { RedisWorkflowStore } from '../../src/store/redis-store.js';
import type { NewWorkflow, WorkflowChange } from '../../src/store/workflow-store.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

noticeIfSkipped(privateRedisAvailable, 'Redis outage tests (they need a private redis-server to kill)');

function newWorkflow(): NewWorkflow {
  const now = new Date().toISOString();
  return {
    head: { thread_id: uuidv4(), case_id: 'c', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: now },
    sections: [{ section_id: 'memo', section_name: 'Memorandum', section_order: 1, status: 'pending', content_html: '', updated_at: now, tokens_used: 0 }],
    logs: [],
  };
}

const log = (message: string) => ({ timestamp: new Date().toISOString(), level: 'info' as const, message, agent: 't' });

describe.skipIf(!privateRedisAvailable)('Redis store when Redis goes away and comes back', () => {
  let server: PrivateRedis;
  let store: RedisWorkflowStore;

  beforeAll(async () => {
    server = await startPrivateRedis({ durable: true });
    store = await RedisWorkflowStore.connect({
      url: server.url,
      keyPrefix: 'outage:',
      ttlSeconds: 600,
      commandTimeoutMs: 500,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('fails every call with StoreUnavailableError while Redis is down, then works again with nothing lost', async () => {
    const wf = newWorkflow();
    const id = wf.head.thread_id;
    await store.create(wf);
    await store.acquireLease(id, 'tok', 60_000);
    await store.updateSection(id, 'memo', { status: 'in_progress', updated_at: new Date().toISOString() }, { leaseToken: 'tok' });
    const before = await store.get(id);
    const seen: WorkflowChange[] = [];
    store.subscribe((c) => seen.push(c));

    await server.kill();
    const calls: Array<() => Promise<unknown>> = [
      () => store.ping(),
      () => store.getHead(id),
      () => store.get(id),
      () => store.create(newWorkflow()),
      () => store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() }),
      () => store.updateSection(id, 'memo', { status: 'in_progress', updated_at: new Date().toISOString() }, { leaseToken: 'tok' }),
      () => store.appendLog(id, log('x')),
      () => store.putExhibit(id, {
        exhibit_id: 'a', filename: 'a', stored_name: 'a_a', file_path: '/a', file_size: 1, mime_type: 'text/plain', uploaded_at: new Date().toISOString(),
      }),
      () => store.delete(id),
      () => store.listActive(),
      () => store.listGenerating(),
      () => store.acquireLease(id, 'tok', 1000),
      () => store.renewLease(id, 'tok', 1000),
      () => store.releaseLease(id, 'tok'),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);

    // Nothing queues up while Redis is away: a burst of reads all fail instead of waiting.
    const burst = await Promise.allSettled(Array.from({ length: 200 }, () => store.getHead(id)));
    expect(burst.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError)).toBe(true);

    await server.restart();
    await waitFor(() => store.ping().then(() => true), { timeoutMs: 10_000, intervalMs: 100 });
    // Same data (fsync'd append-only file), the same lease, and the scripts load again after the restart.
    expect(await store.get(id)).toEqual(before);
    expect(await store.updateSection(id, 'memo', { status: 'completed', updated_at: new Date().toISOString(), content_html: '<p>x</p>', tokens_used: 3, duration_ms: 1 }, { leaseToken: 'tok' })).not.toBeNull();
    expect(await store.getHead(id)).toMatchObject({ completed_sections: 1, version: before!.version + 1 });
    expect(await store.listActive()).toContain(id);
    // The subscriber re-subscribes by itself (on its own reconnect schedule; pub/sub does not replay what
    // was published before that, so keep writing until a change comes through).
    await waitFor(
      async () => {
        await store.appendLog(id, log('ping'));
        return seen.some((c) => c.thread_id === id && c.kind === 'log');
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  it('answers with StoreUnavailableError instead of hanging when Redis stops answering, and recovers', async () => {
    const wf = newWorkflow();
    await store.create(wf);
    server.freeze();
    try {
      await expect(store.getHead(wf.head.thread_id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.appendLog(wf.head.thread_id, log('while frozen'))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      server.thaw();
    }
    await waitFor(() => store.ping().then(() => true), { timeoutMs: 10_000, intervalMs: 100 });
    expect(await store.getHead(wf.head.thread_id)).toMatchObject({ thread_id: wf.head.thread_id });
  });

  it('starts even when Redis is unreachable, and becomes ready when it appears', async () => {
    await server.kill();
    const late = await RedisWorkflowStore.connect({
      url: server.url,
      keyPrefix: 'outage:',
      ttlSeconds: 600,
      commandTimeoutMs: 500,
      connectWaitMs: 200,
      logger: pino({ level: 'silent' }),
    });
    try {
      await expect(late.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await server.restart();
      await waitFor(() => late.ping().then(() => true), { timeoutMs: 10_000, intervalMs: 100 });
    } finally {
      await late.close();
    }
  });
});
