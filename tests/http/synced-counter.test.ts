import { Redis } from 'ioredis';
import type { Options } from 'express-rate-limit';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncedCounterStore } from '../../src/http/guards/synced-counter.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped, redisAvailable, useRedis, type TestRedis } from '../helpers/redis.js';

const WINDOW_MS = 60_000;
const FLUSH_MS = 20;
/** One batch interval on the fake clock, and the batch's answers from the fake Redis. */
const nextBatch = () => vi.advanceTimersByTimeAsync(FLUSH_MS);

/** A Redis stand-in that counts the script calls and can be made to fail. */
function fakeRedis() {
  const totals = new Map<string, number>();
  const fake = {
    calls: [] as [string, number][],
    fail: false,
    defineCommand: vi.fn(),
    async dmAddHits(key: string, hits: number) {
      fake.calls.push([key, hits]);
      if (fake.fail) throw new Error('Connection is closed');
      totals.set(key, (totals.get(key) ?? 0) + hits);
      return totals.get(key)!;
    },
    async del(key: string) {
      totals.delete(key);
    },
    totals,
  };
  return fake;
}

function store(redis: unknown, options: { now?: () => number; logger?: pino.Logger } = {}) {
  const s = new SyncedCounterStore({ redis: redis as Redis, prefix: 'rl:read:', logger: options.logger ?? pino({ level: 'silent' }), flushMs: FLUSH_MS, now: options.now });
  s.init({ windowMs: WINDOW_MS } as Options);
  return s;
}

describe('SyncedCounterStore (the reading budget shared in batches)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts exactly within a process: the first hit asks Redis, the next ones are counted here and sent as one', async () => {
    const redis = fakeRedis();
    const s = store(redis);
    const totals: number[] = [];
    totals.push((await s.increment('u:a')).totalHits);
    for (let i = 0; i < 49; i++) totals.push((await s.increment('u:a')).totalHits);
    expect(totals).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await nextBatch();
    expect(redis.calls.map(([, hits]) => hits)).toEqual([1, 49]);
    expect([...redis.totals.values()]).toEqual([50]);
  });

  it('learns what other processes counted: at the first hit, and with each batch', async () => {
    const redis = fakeRedis();
    const a = store(redis);
    const b = store(redis);
    for (let i = 0; i < 5; i++) await a.increment('u:x');
    await nextBatch();
    expect((await b.increment('u:x')).totalHits).toBe(6); // b had never seen u:x: it asked
    await a.increment('u:x'); // a decides from what it heard (5) plus its own: 6, and sends
    await nextBatch();
    expect((await a.increment('u:x')).totalHits).toBe(8); // its batch came back with b's hit in it
  });

  it('starts again in the next aligned window, and forgets the last one', async () => {
    const redis = fakeRedis();
    let now = 10 * WINDOW_MS + 5;
    const s = store(redis, { now: () => now });
    const first = await s.increment('u:w');
    await s.increment('u:w');
    expect(first.resetTime?.getTime()).toBe(11 * WINDOW_MS);
    now = 11 * WINDOW_MS + 1;
    const next = await s.increment('u:w');
    expect(next.totalHits).toBe(1);
    expect(next.resetTime?.getTime()).toBe(12 * WINDOW_MS);
    // Window 10's unsent hit goes with its counter: that window is over in every process.
    await s.increment('u:w');
    await nextBatch();
    expect(redis.calls.map(([key, hits]) => `${key}+${hits}`)).toEqual(['rl:read:u:w:10+1', 'rl:read:u:w:11+1', 'rl:read:u:w:11+1']);
    expect((s as unknown as { counters: Map<string, { window: number }> }).counters.get('u:w')?.window).toBe(11);
  });

  it('fails a first hit when Redis does (the request is let through), and keeps counting here when a batch fails', async () => {
    const redis = fakeRedis();
    const logger = pino({ level: 'silent' });
    const errors = vi.spyOn(logger, 'error');
    const s = store(redis, { logger });
    redis.fail = true;
    await expect(s.increment('u:f')).rejects.toThrow(/closed/);
    redis.fail = false;
    expect((await s.increment('u:f')).totalHits).toBe(1);
    redis.fail = true;
    await s.increment('u:f');
    await nextBatch();
    await s.increment('u:f');
    await nextBatch();
    expect((await s.increment('u:f')).totalHits).toBe(4); // nothing counted was lost
    expect(errors).toHaveBeenCalledTimes(1); // once per outage, not per batch
    redis.fail = false;
    await nextBatch();
    expect((await s.increment('u:f')).totalHits).toBe(5);
  });
});

noticeIfSkipped(redisAvailable, 'the shared reading budget on a real Redis');

describe.skipIf(!redisAvailable)('SyncedCounterStore on Redis', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await useRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.close();
  });

  it('shares one count between processes under the configured prefix, expiring with its window', async () => {
    const make = () => {
      const client = new Redis(redis.url);
      clients.push(client);
      const s = new SyncedCounterStore({ redis: client, prefix: `${redis.prefix}rl:read:`, logger: pino({ level: 'silent' }), flushMs: FLUSH_MS });
      s.init({ windowMs: WINDOW_MS } as Options);
      return s;
    };
    const a = make();
    const b = make();
    for (let i = 0; i < 10; i++) await a.increment('u:r');
    const [, keys] = await redis.client.scan('0', 'MATCH', `${redis.prefix}rl:read:u:r:*`, 'COUNT', 1000);
    expect(keys).toHaveLength(1);
    // a's batch (its first hit went at once, the nine others together) reaches Redis.
    await waitFor(async () => (await redis.client.get(keys[0]!)) === '10');
    expect((await b.increment('u:r')).totalHits).toBe(11);
    expect(Number(await redis.client.get(keys[0]!))).toBe(11);
    const ttl = await redis.client.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS + 1000);
  });
});
