/**
 * Redis key layout. Every key of one workflow carries the `{thread_id}` hash tag, so they share a Redis
 * Cluster slot and one Lua script may touch them all. The active index and the change channel are global
 * (another slot): scripts never touch them.
 */
export interface WorkflowKeys {
  /** Hash: the head's scalars, `version` and the exhibit sequence counter. */
  meta: string;
  /** Hash: section id -> section JSON. */
  sections: string;
  /** Hash: exhibit id -> exhibit JSON. */
  exhibits: string;
  /** Sorted set: exhibit id scored by upload sequence (a replacement moves to the end). */
  exhibitOrder: string;
  /** List: log entries as JSON, oldest first, trimmed to the newest 100. */
  logs: string;
  /** String: the generation lease token, with its own short expiry (PX). */
  lease: string;
}

export class KeySpace {
  /** Sorted set of thread ids scored by their last known expiry (epoch ms). */
  readonly active: string;
  /**
   * Set of thread ids that may be generating: added before a write can make one generating, removed once
   * it is seen not to be (see RedisWorkflowStore.listGenerating).
   */
  readonly generating: string;
  /** Pub/sub channel carrying every committed {@link WorkflowChange}. */
  readonly changes: string;
  /** Pub/sub channel carrying the thread id of every lease given up by its holder. */
  readonly leases: string;

  constructor(readonly prefix: string) {
    // Redis hashes the first {...} of a key: braces in the prefix would replace the thread id as hash tag.
    if (/[{}]/.test(prefix)) throw new Error(`REDIS_KEY_PREFIX must not contain "{" or "}" (got "${prefix}")`);
    this.active = `${prefix}active`;
    this.generating = `${prefix}generating`;
    this.changes = `${prefix}changes`;
    this.leases = `${prefix}leases`;
  }

  of(threadId: string): WorkflowKeys {
    const base = `${this.prefix}{${threadId}}:`;
    return {
      meta: `${base}meta`,
      sections: `${base}sections`,
      exhibits: `${base}exhibits`,
      exhibitOrder: `${base}exhibit-order`,
      logs: `${base}logs`,
      lease: `${base}lease`,
    };
  }

  /** The six keys every per-workflow write script takes, in the order the scripts expect. */
  all(threadId: string): string[] {
    const k = this.of(threadId);
    return [k.meta, k.sections, k.exhibits, k.exhibitOrder, k.logs, k.lease];
  }
}
