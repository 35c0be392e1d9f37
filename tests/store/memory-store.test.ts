import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';

// What the contract suite cannot show of the memory store: memory freed without anyone reading.

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryWorkflowStore', () => {
  it('frees expired workflows that nobody reads, at its sweep interval', async () => {
    vi.useFakeTimers();
    const store = new MemoryWorkflowStore({ ttlSeconds: 10, sweepIntervalMs: 1000 });
    const at = new Date().toISOString();
    await store.create({
      head: { thread_id: 'idle', case_id: 'c', user_id: 'u', document_type: 'memo', case_facts: null, status: 'completed', created_at: at },
      sections: [],
      logs: [],
    });
    vi.advanceTimersByTime(9_000);
    expect(store.size).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect(store.size).toBe(0);
    await store.close();
  });
});
