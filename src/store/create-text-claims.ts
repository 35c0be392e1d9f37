import type { Logger } from 'pino';
import { MemoryTextClaims, type TextClaims } from './text-claims.js';

/** Shared claims in Redis when `REDIS_URL` is set (every process sees every job), this process's otherwise. */
export async function createTextClaims(
  options: { redisUrl: string | undefined; redisKeyPrefix: string; redisCommandTimeoutMs: number },
  logger: Logger,
): Promise<TextClaims> {
  if (!options.redisUrl) return new MemoryTextClaims();
  const { RedisTextClaims } = await import('./redis/text-claims.js');
  return RedisTextClaims.connect({
    url: options.redisUrl,
    keyPrefix: options.redisKeyPrefix,
    commandTimeoutMs: options.redisCommandTimeoutMs,
    logger,
  });
}
