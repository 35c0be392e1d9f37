import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { AppError, validationError } from '../../errors.js';
import type { KeyValueStore } from '../guards/key-value.js';

const KEY = /^[\x21-\x7E]{1,255}$/;
/** A claim whose request died (crash) frees its key after this long instead of blocking it for the TTL. */
const PENDING_TTL_MS = 30_000;
/** How long a repeated request waits for the first one to finish before answering 409. */
const WAIT_MS = 10_000;
const POLL_MS = 25;

interface Claim {
  /** Fingerprint of the request body. */
  fp: string;
  /** Set when the first request finished; null while it is running. */
  thread_id: string | null;
  /** Identifies the claiming request, so only it can give the claim back. */
  owner: string;
}

export interface IdempotentResult {
  thread_id: string;
  /** True when an earlier request with the same key started this workflow. */
  replayed: boolean;
}

/** The `Idempotency-Key` header, validated; undefined when absent. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!KEY.test(key)) throw validationError('Idempotency-Key: must be 1-255 visible ASCII characters');
  return key;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Runs `start` at most once per (user, key) within the TTL. The first request claims the key atomically
 * (SET NX); a request that races it waits for the first one's thread and answers with it. The same key
 * with a different body is 422 `IDEMPOTENCY_KEY_REUSED` (the body is part of what the key promises); a
 * first request that fails gives the key back so a retry can run.
 */
export class Idempotency {
  constructor(
    private readonly keys: KeyValueStore,
    private readonly options: { ttlSeconds: number; prefix: string; waitMs?: number },
  ) {}

  async run(user: string, key: string, body: unknown, start: () => Promise<{ thread_id: string }>): Promise<IdempotentResult> {
    // Hashing bounds the Redis key length and keeps user-chosen characters out of it.
    const storeKey = `${this.options.prefix}${sha256(`${user}\n${key}`)}`;
    const fp = sha256(JSON.stringify(body));
    const mine: Claim = { fp, thread_id: null, owner: randomUUID() };
    const claimText = JSON.stringify(mine);

    if (await this.keys.setIfAbsent(storeKey, claimText, PENDING_TTL_MS)) {
      let thread_id: string;
      try {
        ({ thread_id } = await start());
      } catch (err) {
        await this.keys.deleteIf(storeKey, claimText).catch(() => undefined);
        throw err;
      }
      await this.keys.put(storeKey, JSON.stringify({ ...mine, thread_id }), this.options.ttlSeconds * 1000);
      return { thread_id, replayed: false };
    }
    return this.awaitEarlier(storeKey, fp, user, key, body, start);
  }

  private async awaitEarlier(
    storeKey: string,
    fp: string,
    user: string,
    key: string,
    body: unknown,
    start: () => Promise<{ thread_id: string }>,
  ): Promise<IdempotentResult> {
    const deadline = Date.now() + (this.options.waitMs ?? WAIT_MS);
    for (;;) {
      const text = await this.keys.get(storeKey);
      // The earlier request failed (and gave the key back) or its claim expired: this one may run.
      if (text === null) return this.run(user, key, body, start);
      const claim = JSON.parse(text) as Claim;
      if (claim.fp !== fp) {
        throw new AppError('Idempotency-Key was already used with a different request body', {
          code: 'IDEMPOTENCY_KEY_REUSED',
        });
      }
      if (claim.thread_id) return { thread_id: claim.thread_id, replayed: true };
      if (Date.now() > deadline) {
        throw new AppError('A request with this Idempotency-Key is still being processed', {
          code: 'IDEMPOTENCY_IN_PROGRESS',
          headers: { 'Retry-After': '1' },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
