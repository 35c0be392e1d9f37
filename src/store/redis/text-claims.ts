import type { Logger } from 'pino';
import type { TextClaims } from '../text-claims.js';
import { isClusterNode, openClient, waitUntilReady, watchConnection, type RedisClient } from './connection.js';
import { guarded } from './errors.js';

// Both keys carry one hash tag, so each script touches a single Cluster slot. Redis's own clock (TIME)
// decides expiry, so processes whose clocks differ still agree on it.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS jobs (sorted set: job id scored by claim expiry, epoch ms), holders (hash: job id -> holder). */
const SCRIPTS = {
  /** ARGV job, holder, ttl ms. */
  dmTextAdd2: `${NOW}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`,
  /** ARGV job, holder, ttl ms. */
  dmTextClaim2: `${NOW}
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] and tonumber(expires) > now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`,
  /** ARGV job, holder, ttl ms. */
  dmTextRenew2: `${NOW}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`,
  /** ARGV job, holder. */
  dmTextRelease2: `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', 0, ARGV[1])
return 1`,
  /** ARGV job. */
  dmTextFinish2: `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`,
  /** ARGV limit. */
  dmTextDue2: `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

export interface RedisTextClaimsOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
  logger: Logger;
  /** How long `connect` waits for a first connection before starting anyway; default 5 s. */
  connectWaitMs?: number;
}

/**
 * {@link TextClaims} in Redis, shared by every process on it: a sorted set of registered jobs scored by
 * when their claim expires (the recovery sweep reads the expired ones with one ZRANGEBYSCORE, never KEYS)
 * and a hash of their holders. A connection of its own, set up as the store's command connection.
 */
export class RedisTextClaims implements TextClaims {
  private readonly keys: [string, string];
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = [`${prefix}{text-jobs}`, `${prefix}{text-jobs}:holders`];
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 2, lua });
  }

  static async connect(options: RedisTextClaimsOptions): Promise<RedisTextClaims> {
    const settings = { url: options.url, commandTimeoutMs: options.commandTimeoutMs, keyPrefix: `${options.keyPrefix}text-` };
    const log = options.logger.child({ component: 'redis-text-claims' });
    let client = openClient(settings, 'commands', false);
    watchConnection(client, log, 'text-claims');
    const wait = options.connectWaitMs ?? 5000;
    if ((await waitUntilReady(client, wait)) && (await isClusterNode(client).catch(() => false))) {
      client.disconnect();
      client = openClient(settings, 'commands', true);
      watchConnection(client, log, 'text-claims');
      await waitUntilReady(client, wait);
    }
    return new RedisTextClaims(client, options.keyPrefix);
  }

  async add(jobId: string, holder: string, ttlMs: number): Promise<void> {
    await this.run('dmTextAdd2', jobId, holder, ttlMs);
  }

  async claim(jobId: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.run('dmTextClaim2', jobId, holder, ttlMs)) === 1;
  }

  async renew(jobId: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.run('dmTextRenew2', jobId, holder, ttlMs)) === 1;
  }

  async release(jobId: string, holder: string): Promise<void> {
    await this.run('dmTextRelease2', jobId, holder);
  }

  async finish(jobId: string): Promise<void> {
    await this.run('dmTextFinish2', jobId);
  }

  async due(limit: number): Promise<string[]> {
    return (await this.run('dmTextDue2', limit)) as string[];
  }

  close(): Promise<void> {
    this.closing ??= this.redis.quit().then(
      () => undefined,
      () => this.redis.disconnect(),
    );
    return this.closing;
  }

  private run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name];
    if (!command) throw new Error(`script ${name} is not defined`);
    return guarded(() => command.call(this.redis, ...this.keys, ...args));
  }
}
