import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { MemoryWorkflowStore } from './memory-store.js';
import type { WorkflowStore } from './workflow-store.js';

/** The Redis store when `REDIS_URL` is set, the in-memory store otherwise. */
export async function createStore(config: Config, logger: Logger): Promise<WorkflowStore> {
  if (!config.redisUrl) return new MemoryWorkflowStore({ ttlSeconds: config.workflowTtlSeconds });
  const { RedisWorkflowStore } = await import('./redis-store.js');
  return RedisWorkflowStore.connect({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    ttlSeconds: config.workflowTtlSeconds,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    logger,
  });
}
