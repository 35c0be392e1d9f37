import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** A single server or a Cluster: the store uses only the command API they share. */
export type RedisClient = Redis | Cluster;

export interface ConnectionSettings {
  url: string;
  commandTimeoutMs: number;
  /** Names the connections `<prefix>commands` / `<prefix>subscriber` (CLIENT LIST shows whose they are). */
  keyPrefix?: string;
}

/** CLIENT SETNAME refuses spaces and other special characters, and a refused name fails the connection. */
const connectionName = (settings: ConnectionSettings, role: string) =>
  settings.keyPrefix ? `${settings.keyPrefix}${role}`.replace(/[^\w:.-]/g, '_') : undefined;

/** Reconnect forever, backing off to at most 2 s between attempts. */
const backoff = (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000);

/**
 * Options for the command connection: fail fast instead of queueing (requests answer 503 at once while
 * Redis is away, and nothing piles up), fail in-flight commands as soon as the connection drops, never
 * re-send a command whose answer was lost (it may have run), and bound every command by a timeout.
 * Commands issued in the same tick go out in one write (auto-pipelining), not a write syscall each.
 */
function commandOptions(settings: ConnectionSettings): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: Math.max(1000, settings.commandTimeoutMs),
    retryStrategy: backoff,
    enableAutoPipelining: true,
  };
}

/**
 * The subscriber only ever sends SUBSCRIBE: it may wait in the offline queue, with unlimited retries, so
 * a subscription made while Redis is down takes effect once it is back. ioredis re-subscribes on reconnect.
 */
function subscriberOptions(settings: ConnectionSettings): RedisOptions {
  return {
    ...commandOptions(settings),
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    enableAutoPipelining: false,
  };
}

export function openClient(settings: ConnectionSettings, role: 'commands' | 'subscriber', cluster: boolean): RedisClient {
  const options = {
    ...(role === 'commands' ? commandOptions(settings) : subscriberOptions(settings)),
    connectionName: connectionName(settings, role),
  };
  if (!cluster) return new Redis(settings.url, options);
  const url = new URL(settings.url);
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...perNode } = options;
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy as (times: number) => number,
    redisOptions: {
      ...perNode,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
    },
  });
}

/** True when the server at the URL runs in cluster mode (asked once, at start). */
export async function isClusterNode(client: RedisClient): Promise<boolean> {
  const info = await client.info('cluster');
  return /cluster_enabled:1/.test(info);
}

/** Logs connection changes once per transition, not once per failed reconnect attempt. */
export function watchConnection(client: RedisClient, log: Logger, role: string): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ role, err: { message: err.message } }, 'Redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ role }, 'Redis connection restored');
    down = false;
  });
}

export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    client.once('ready', onReady);
  });
}
