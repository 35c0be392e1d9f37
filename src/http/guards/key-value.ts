import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../../errors.js';

/**
 * The few atomic operations idempotency needs, over a process-local map or a Redis shared by every
 * process. Values are opaque strings; every key expires.
 */
export interface KeyValueStore {
  /** Sets the key only if it does not exist; true when this call set it (Redis `SET NX PX`). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | null>;
  /** Overwrites the key and its expiry. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /** Removes the key only while it still holds `value` (a failed claim must not remove a later one). */
  deleteIf(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/** One process only; entries expire lazily and in a sweep at most once a minute. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private lastSweep = Date.now();

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.sweep();
    if (this.live(key) !== null) return false;
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async get(key: string): Promise<string | null> {
    return this.live(key);
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async deleteIf(key: string, value: string): Promise<void> {
    if (this.live(key) === value) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private live(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

const DELETE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** Redis-backed; any failure to reach Redis is a 503 `STORE_UNAVAILABLE`, like the workflow store's. */
export class RedisKeyValueStore implements KeyValueStore {
  constructor(private readonly redis: Redis) {}

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.call(() => this.redis.set(key, value, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  get(key: string): Promise<string | null> {
    return this.call(() => this.redis.get(key));
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.call(() => this.redis.set(key, value, 'PX', ttlMs));
  }

  async deleteIf(key: string, value: string): Promise<void> {
    await this.call(() => this.redis.eval(DELETE_IF, 1, key, value));
  }

  async close(): Promise<void> {
    // The client is shared with the rate limiter and closed by its owner (see createGuards).
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}

/**
 * The guards' own Redis connection (the workflow store keeps its own), failing as fast as the store's:
 * with Redis away a command fails at once instead of waiting in a queue for a reconnection (which would
 * hold every mutating request for seconds before its rate-limit check failed open), and a command sent
 * fails after `commandTimeoutMs`. So a Redis outage answers 503 (idempotency) or lets requests through
 * (rate limits fail open) without delay.
 */
export function connectGuardsRedis(url: string, commandTimeoutMs: number, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, commandTimeoutMs),
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    // Rate-limit counters of the requests of one tick go out in one write.
    enableAutoPipelining: true,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: { message: err.message } }, 'guards: Redis connection lost (rate limits fail open, idempotency 503)');
  });
  redis.on('ready', () => {
    if (down) logger.info('guards: Redis connection back');
    down = false;
  });
  return redis;
}
