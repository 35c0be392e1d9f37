import type { Redis } from 'ioredis';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Logger } from 'pino';

/** Adds a batch of hits to a window's counter and answers the window's total; the key ends with its window. */
const ADD_HITS = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return total`;

type AddHits = (key: string, hits: number, expireAtMs: number) => Promise<number>;

interface Counter {
  /** Index of the fixed window the counts belong to (`floor(now / windowMs)`, the same in every process). */
  window: number;
  /** The window's total in Redis as last heard, including this process's hits sent so far. */
  shared: number;
  /** Hits sent and not yet answered. */
  sending: number;
  /** Hits counted here and not yet sent. */
  pending: number;
}

export interface SyncedCounterOptions {
  redis: Redis;
  /** Redis key prefix of the counters. */
  prefix: string;
  logger: Logger;
  /** How long hits may wait before they are sent; default 100 ms. */
  flushMs?: number;
  now?: () => number;
}

/**
 * A rate-limit counter shared by every process through Redis, at one Redis command per client per window per
 * process plus one per client per `flushMs` while it is active, instead of one per request: for the reading
 * budget, which a frontend spends every 2 s per open document: a Redis round trip per poll takes the Redis
 * preview below its throughput guard (docs/decisions/http-02-rate-limit-counters.md).
 *
 * Windows are fixed and aligned (`floor(now / windowMs)`), so every process counts the same window under the
 * same key. The first hit of a client in a window waits for Redis (so a process that has not seen the client
 * yet learns what the others counted); later hits are decided from the last total heard plus the hits counted
 * here since, and are sent in one `INCRBY` per client every `flushMs`. So a client can exceed its limit by what
 * it sends to the other processes within one `flushMs` — nothing within one process. If Redis fails on a
 * first hit the request is let through (as with rate-limit-redis); if it fails on a batch, the hits stay
 * counted here and are sent again with the next batch, and the failure is logged once until a batch succeeds.
 */
export class SyncedCounterStore implements Store {
  private readonly counters = new Map<string, Counter>();
  private windowMs = 60_000;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private readonly addHits: AddHits;
  private readonly now: () => number;
  private readonly flushMs: number;

  constructor(private readonly options: SyncedCounterOptions) {
    const { redis } = options;
    if (!('dmAddHits' in redis)) redis.defineCommand('dmAddHits', { numberOfKeys: 1, lua: ADD_HITS });
    this.addHits = (key, hits, expireAtMs) =>
      (redis as unknown as { dmAddHits: (k: string, h: number, e: number) => Promise<number> }).dmAddHits(key, hits, expireAtMs);
    this.now = options.now ?? Date.now;
    this.flushMs = options.flushMs ?? 100;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const window = Math.floor(this.now() / this.windowMs);
    const resetTime = new Date((window + 1) * this.windowMs);
    let counter = this.counters.get(key);
    if (!counter || counter.window !== window) {
      counter = { window, shared: 0, sending: 1, pending: 0 };
      this.counters.set(key, counter);
      try {
        counter.shared = await this.addHits(this.redisKey(key, window), 1, resetTime.getTime() + 1000);
        counter.sending -= 1;
      } catch (err) {
        if (this.counters.get(key) === counter) this.counters.delete(key);
        throw err;
      }
      return { totalHits: counter.shared + counter.sending + counter.pending, resetTime };
    }
    counter.pending += 1;
    this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
    return { totalHits: counter.shared + counter.sending + counter.pending, resetTime };
  }

  async decrement(key: string): Promise<void> {
    const counter = this.counters.get(key);
    if (counter) counter.pending -= 1;
  }

  async resetKey(key: string): Promise<void> {
    const counter = this.counters.get(key);
    this.counters.delete(key);
    if (counter) await this.options.redis.del(this.redisKey(key, counter.window));
  }

  /** Sends every client's pending hits; forgets clients of past windows with nothing left to send. */
  flush(): void {
    this.timer = null;
    const current = Math.floor(this.now() / this.windowMs);
    for (const [key, counter] of this.counters) {
      if (counter.pending === 0) {
        if (counter.window < current && counter.sending === 0) this.counters.delete(key);
        continue;
      }
      const hits = counter.pending;
      counter.pending = 0;
      counter.sending += hits;
      this.addHits(this.redisKey(key, counter.window), hits, (counter.window + 1) * this.windowMs + 1000).then(
        (total) => {
          counter.sending -= hits;
          counter.shared = total;
          this.failing = false;
        },
        (err: unknown) => {
          // Counted all the same, and sent again with the next batch: nothing counted is lost.
          counter.sending -= hits;
          counter.pending += hits;
          this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
          if (!this.failing) this.options.logger.error({ err }, 'rate limit counts not shared; counting in this process meanwhile');
          this.failing = true;
        },
      );
    }
  }

  private redisKey(key: string, window: number): string {
    return `${this.options.prefix}${key}:${window}`;
  }
}
