import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { ToOwner } from '../../src/store/port-store.js';
import type { NewWorkflow } from '../../src/store/workflow-store.js';
import { overPort } from './harness.js';

// What the contract suite does not show of the port (it runs in full over one: "memory-over-port"): how
// calls travel, and what a caller sees when the owner fails or goes away.

function newWorkflow(id: string): NewWorkflow {
  const at = new Date().toISOString();
  return {
    head: { thread_id: id, case_id: 'c', user_id: 'u', document_type: 'letter', case_facts: {}, status: 'generating', created_at: at },
    sections: [{ section_id: 'header', section_name: 'Header', section_order: 1, status: 'pending', content_html: '', updated_at: at, tokens_used: 0 }],
    logs: [],
  };
}

describe('PortStore over servePort', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function pair(owned = new MemoryWorkflowStore({ ttlSeconds: 60 })) {
    // Counts the messages the owner receives, before servePort's own listener sees them.
    const received: ToOwner[] = [];
    const { store, stopServing, close } = overPort(owned, (ownerEnd) => ownerEnd.on('message', (m: ToOwner) => received.push(m)));
    cleanups.push(async () => {
      await close();
      await owned.close();
    });
    return { owned, store, received, stopServing };
  }

  it('sends the calls of one turn as one message and answers each', async () => {
    const { store, owned, received } = pair();
    const ids = Array.from({ length: 50 }, (_, i) => `wf-${i}`);
    await Promise.all(ids.map((id) => store.create(newWorkflow(id))));
    expect(owned.size).toBe(50);
    const heads = await Promise.all(ids.map((id) => store.getHead(id)));
    expect(heads.map((h) => h?.thread_id)).toEqual(ids);
    expect(received.filter((m) => m.calls).map((m) => m.calls!.length)).toEqual([50, 50]);
  });

  it('passes the owner’s refusals and errors on as the same answers', async () => {
    const { store } = pair();
    await store.create(newWorkflow('a'));
    expect(await store.getHead('missing')).toBeNull();
    // A duplicate id is refused by the owner's store: the caller sees that error, not a hang.
    await expect(store.create(newWorkflow('a'))).rejects.toThrow(/a/);
    expect(await store.acquireLease('a', 't1', 10_000)).toBe(true);
    expect(await store.acquireLease('a', 't2', 10_000)).toBe(false);
  });

  it('maps an unavailable owner store to StoreUnavailableError (503 for requests, backoff for loops)', async () => {
    const owned = new MemoryWorkflowStore({ ttlSeconds: 60 });
    owned.getHead = async () => {
      throw new StoreUnavailableError(new Error('down'));
    };
    const { store } = pair(owned);
    await expect(store.getHead('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('fails waiting and later calls with StoreUnavailableError once the owner stops serving', async () => {
    const owned = new MemoryWorkflowStore({ ttlSeconds: 60 });
    let release!: () => void;
    owned.getHead = () => new Promise((resolve) => (release = () => resolve(null)));
    const { store, stopServing } = pair(owned);
    const waiting = store.getHead('x');
    await new Promise((r) => setTimeout(r, 20));
    stopServing();
    release();
    await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
    await expect(store.getHead('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses a message that names anything but a store call', async () => {
    const owned = new MemoryWorkflowStore({ ttlSeconds: 60 });
    const closed = vi.spyOn(owned, 'close');
    const { store } = pair(owned);
    // What a confused or hostile sender could post on the port: PortStore itself never sends it.
    const call = (store as unknown as { call(m: string, a: unknown[]): Promise<unknown> }).call.bind(store);
    await expect(call('close', [])).rejects.toThrow(/not a store call: close/);
    await expect(call('records', [])).rejects.toThrow(/not a store call/);
    expect(closed).not.toHaveBeenCalled();
    expect(await store.getHead('x')).toBeNull(); // the port still answers
  });

  it('applies listGenerating’s skip on the asking side', async () => {
    const { store } = pair();
    for (const id of ['g1', 'g2', 'g3']) await store.create(newWorkflow(id));
    expect((await store.listGenerating()).sort()).toEqual(['g1', 'g2', 'g3']);
    expect((await store.listGenerating({ skip: (id) => id === 'g2' })).sort()).toEqual(['g1', 'g3']);
    await store.acquireLease('g1', 'tok', 10_000);
    expect((await store.listGenerating({ unleased: true })).sort()).toEqual(['g2', 'g3']);
  });

  it('delivers released leases and changes to its listeners, and stops when they stop listening', async () => {
    const { store, owned } = pair();
    await store.create(newWorkflow('r'));
    const released: string[] = [];
    const stopReleased = store.onLeaseReleased((id) => released.push(id));
    const changes: string[] = [];
    await new Promise<void>((ready) => store.subscribe((c) => changes.push(`${c.thread_id}:${c.kind}`), ready));
    await store.acquireLease('r', 'tok', 10_000);
    await store.releaseLease('r', 'tok');
    await owned.appendLog('r', { timestamp: new Date().toISOString(), level: 'info', message: 'direct', agent: 't' });
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toEqual(['r']);
    expect(changes).toEqual(['r:log']);
    stopReleased();
    await new Promise((r) => setTimeout(r, 20));
    await store.acquireLease('r', 'tok', 10_000);
    await store.releaseLease('r', 'tok');
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toEqual(['r']);
  });
});
