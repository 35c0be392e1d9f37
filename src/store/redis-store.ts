// Placeholder until the Redis store lands (issue 5); create-store only loads it when REDIS_URL is set.
import type { Logger } from 'pino';
import type { WorkflowStore } from './workflow-store.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  commandTimeoutMs: number;
  logger: Logger;
}

export class RedisWorkflowStore {
  static async connect(_options: RedisStoreOptions): Promise<WorkflowStore> {
    throw new Error('The Redis store is not available yet');
  }
}
