import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newLogs } from '../../src/events/diff.js';
import { EventHub } from '../../src/events/event-hub.js';
import { ReplayBuffer } from '../../src/events/replay-buffer.js';
import { parseEventId, type EventSink } from '../../src/events/sse.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import { initialSections } from '../../src/domain/document-types.js';
import { logEntry } from '../../src/domain/logs.js';
import type { LogEntry } from '../../src/domain/types.js';
import { waitFor } from '../helpers/app.js';

class FakeSink implements EventSink {
  chunks: string[] = [];
  ended = false;
  full = false;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return !this.full;
  }
  bufferedBytes(): number {
    return this.full ? 10 * 1024 * 1024 : 0;
  }
  end(): void {
    this.ended = true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

let store: MemoryWorkflowStore;
let hub: EventHub;
afterEach(async () => {
  hub?.close();
  await store?.close();
});

let n = 0;
async function setup(options: { heartbeatMs?: number; replayCapacity?: number } = {}) {
  store = new MemoryWorkflowStore({ ttlSeconds: 3600 });
  hub = new EventHub({ store, logger: pino({ level: 'silent' }), metadata: { costPer1kTokens: 0.01, expectedSectionMs: 0 }, ...options });
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const at = new Date().toISOString();
  await store.create({
    head: { thread_id: id, case_id: 'c', user_id: 'u', document_type: 'memo', case_facts: null, status: 'generating', created_at: at },
    sections: initialSections('memo', at),
    logs: [],
  });
  return id;
}

describe('EventHub', () => {
  it('reads the workflow once per change however many clients watch it', async () => {
    const id = await setup();
    const sinks = Array.from({ length: 50 }, () => new FakeSink());
    sinks.forEach((sink) => hub.attach(id, sink));
    await waitFor(() => sinks.every((s) => s.text.includes('event: snapshot')));
    let reads = 0;
    const get = store.get.bind(store);
    store.get = (...args) => {
      reads++;
      return get(...args);
    };
    await store.appendLog(id, logEntry('info', 'one change'));
    await waitFor(() => sinks.every((s) => s.text.includes('one change')));
    expect(reads).toBe(1);
    expect(hub.stats()).toEqual({ clients: 50, threads: 1, subscribed: true });
  });

  it('drops the clients of a thread whose state cannot be read (store down); they reconnect later', async () => {
    const id = await setup();
    const sink = new FakeSink();
    hub.attach(id, sink);
    await waitFor(() => sink.text.includes('event: snapshot'));
    store.get = async () => {
      throw new Error('store unavailable');
    };
    await store.appendLog(id, logEntry('info', 'unreadable'));
    await waitFor(() => sink.ended);
    expect(sink.text).not.toContain('event: end');
    expect(hub.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
  });

  it('sends a heartbeat comment to every client on its interval, and stops its timer with the last client', async () => {
    // Only intervals are faked: the hub's reads and waitFor run as usual.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const id = await setup({ heartbeatMs: 1000 });
      const sink = new FakeSink();
      const detach = hub.attach(id, sink);
      await waitFor(() => sink.text.includes('event: snapshot'));
      const heartbeats = () => sink.text.split(': heartbeat\n\n').length - 1;
      vi.advanceTimersByTime(999);
      expect(heartbeats()).toBe(0);
      vi.advanceTimersByTime(2001);
      expect(heartbeats()).toBe(3);
      detach();
      const count = sink.chunks.length;
      vi.advanceTimersByTime(5000);
      expect(sink.chunks.length).toBe(count);
      expect(hub.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('disconnects a client that stops reading instead of buffering for it without bound', async () => {
    const id = await setup();
    const slow = new FakeSink();
    const fine = new FakeSink();
    hub.attach(id, slow);
    hub.attach(id, fine);
    await waitFor(() => fine.text.includes('event: snapshot'));
    slow.full = true;
    await store.appendLog(id, logEntry('info', 'something happened'));
    await waitFor(() => slow.ended);
    expect(fine.ended).toBe(false);
    expect(hub.stats().clients).toBe(1);
    await waitFor(() => fine.text.includes('something happened'));
  });

  it('ends the streams and refuses new clients once closed (shutdown)', async () => {
    const id = await setup();
    const sink = new FakeSink();
    hub.attach(id, sink);
    hub.close();
    expect(sink.ended).toBe(true);
    const late = new FakeSink();
    hub.attach(id, late);
    expect(late.ended).toBe(true);
    expect(hub.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
  });

  it('coalesces a burst of changes into events that still carry every new log line once', async () => {
    const id = await setup();
    const sink = new FakeSink();
    hub.attach(id, sink);
    await waitFor(() => sink.text.includes('event: snapshot'));
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.appendLog(id, logEntry('info', `line ${i}`))));
    await waitFor(() => sink.text.includes('line 29'));
    for (let i = 0; i < 30; i++) expect(sink.text.split(`"line ${i}"`).length - 1).toBe(1);
  });

  it('reads again once the store says its subscription is in place: a change made before then is not lost', async () => {
    // As Redis does: changes published before the subscription is confirmed (or while it reconnects) are not
    // delivered, and the store calls onReady once they will be.
    const id = await setup();
    let confirm: () => void = () => {};
    const subscribe = store.subscribe.bind(store);
    store.subscribe = (listener, onReady) => {
      let stop = () => {};
      confirm = () => {
        stop = subscribe(listener);
        onReady?.();
      };
      return () => stop();
    };
    const sink = new FakeSink();
    hub.attach(id, sink);
    await waitFor(() => sink.text.includes('event: snapshot'));
    await store.appendLog(id, logEntry('info', 'written before the subscription was in place'));
    await new Promise((r) => setImmediate(r)); // a turn of the event loop: any change delivered would be read
    expect(sink.text).not.toContain('written before the subscription');
    confirm();
    await waitFor(() => sink.text.includes('written before the subscription was in place'));
    // And changes after it arrive as usual.
    await store.appendLog(id, logEntry('info', 'written after'));
    await waitFor(() => sink.text.includes('written after'));
  });
});

const log = (message: string, timestamp = '2026-01-01T00:00:00.000Z'): LogEntry => ({ timestamp, level: 'info', message, agent: 'a' });

describe('newLogs', () => {
  it('finds the lines appended after the overlap, even when the window slid', () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((m) => log(m));
    expect(newLogs([a!, b!, c!], [a!, b!, c!, d!])).toEqual([d]);
    expect(newLogs([a!, b!, c!], [b!, c!, d!, e!])).toEqual([d, e]);
    expect(newLogs([], [a!])).toEqual([a]);
    expect(newLogs([a!], [a!])).toEqual([]);
    expect(newLogs([a!], [d!, e!])).toEqual([d, e]);
  });
});

describe('ReplayBuffer and event ids', () => {
  it('replays from a snapshot or an event id while everything since is held, and refuses otherwise', () => {
    const buf = new ReplayBuffer(5, 4);
    buf.push(7, 1, 'a');
    buf.push(7, 2, 'b');
    buf.push(9, 1, 'c');
    expect(buf.since({ version: 5, n: 0 })).toEqual(['a', 'b', 'c']);
    expect(buf.since({ version: 7, n: 1 })).toEqual(['b', 'c']);
    expect(buf.since({ version: 7, n: 0 })).toEqual(['c']);
    expect(buf.since({ version: 6, n: 0 })).toBeNull(); // never observed: a coalesced, intermediate state
    expect(buf.since({ version: 4, n: 0 })).toBeNull(); // older than the buffer
    buf.push(10, 1, 'd');
    buf.push(10, 2, 'e'); // overflows: 'a' goes, base moves to 7
    expect(buf.since({ version: 5, n: 0 })).toBeNull();
    expect(buf.since({ version: 7, n: 1 })).toBeNull();
    expect(buf.since({ version: 7, n: 0 })).toEqual(['c', 'd', 'e']);
  });

  it('parses only well-formed ids', () => {
    expect(parseEventId('12')).toEqual({ version: 12, n: 0 });
    expect(parseEventId('12-3')).toEqual({ version: 12, n: 3 });
    for (const bad of [undefined, '', '12-0', '-1', '1.5', 'abc', '1-2-3', '9'.repeat(40)]) expect(parseEventId(bad)).toBeNull();
  });
});
