import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Config } from '../../config.js';
import { SyncedCounterStore } from './synced-counter.js';
import { connectGuardsRedis, MemoryKeyValueStore, RedisKeyValueStore, type KeyValueStore } from './key-value.js';

/**
 * rate-limit-redis loads its scripts once, at start; a Redis that is down then would leave it failing
 * forever. Reloading them after any failure lets it recover with Redis.
 */
class RecoveringRedisStore extends RedisStore {
  override async increment(key: string) {
    try {
      return await super.increment(key);
    } catch (err) {
      this.incrementScriptSha = this.loadIncrementScript();
      this.incrementScriptSha.catch(() => undefined);
      throw err;
    }
  }

  override async get(key: string) {
    try {
      return await super.get(key);
    } catch (err) {
      this.getScriptSha = this.loadGetScript();
      this.getScriptSha.catch(() => undefined);
      throw err;
    }
  }
}

/** Where request guards keep their state: Redis (shared by every process) when `REDIS_URL` is set. */
export class Guards {
  readonly keys: KeyValueStore;
  private readonly redis: Redis | null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.redis = config.redisUrl ? connectGuardsRedis(config.redisUrl, config.redisCommandTimeoutMs, logger) : null;
    this.keys = this.redis ? new RedisKeyValueStore(this.redis) : new MemoryKeyValueStore();
  }

  /**
   * Resolves once the guards' Redis connection is up, or after `timeoutMs`: its commands fail at once
   * while it is not (no offline queue), so the first requests would otherwise find it still connecting.
   */
  async ready(timeoutMs: number): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      redis.once('ready', done);
    });
  }

  /** Key prefix of guard state in Redis, beside the workflow keys. */
  redisKey(kind: string): string {
    return `${this.config.redisKeyPrefix}${kind}:`;
  }

  /**
   * A fresh counter store for one budget (each keeps its own counts); memory when undefined. With Redis the
   * reading budget, spent by every poll, is counted here and shared in batches (`SyncedCounterStore`); the
   * mutating one, small and spent rarely, exactly per request (rate-limit-redis).
   */
  rateLimitStore(name: string): Store | undefined {
    const redis = this.redis;
    if (!redis) return undefined;
    if (name === 'read') return new SyncedCounterStore({ redis, prefix: this.redisKey(`rl:${name}`), logger: this.logger });
    const store = new RecoveringRedisStore({
      prefix: this.redisKey(`rl:${name}`),
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<number | string>,
    });
    return store;
  }

  async close(): Promise<void> {
    await this.keys.close();
    const redis = this.redis;
    if (!redis) return;
    // QUIT waits for a connection; with Redis away that could be forever, so only a live client says goodbye.
    if (redis.status !== 'ready') {
      redis.disconnect();
      return;
    }
    try {
      await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    } catch {
      // Already closing or gone: nothing left to release but the socket.
    }
    redis.disconnect();
  }
}
