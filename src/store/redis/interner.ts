import { LRUCache } from 'lru-cache';

/**
 * The parsed parts (sections, exhibits, log lines) of each workflow as last read, by their JSON text: a read
 * that finds the text it found last time hands out the same frozen object instead of parsing it again. The
 * memory store keeps object identity by nature; with it, the preview serializes only the parts that changed
 * (piece reuse) on Redis too. A generating workflow polled every 2 s changes one section and two log lines
 * per section boundary, so most of each full read is text seen before: parsing it afresh and serializing the
 * new objects again took 8 % of the main thread in bench scenario 4 (Redis, CPU profile).
 *
 * Each read replaces the workflow's entry with what it found, so an entry holds only current parts. Bounded
 * by the length of the text kept.
 */
export class PartsInterner {
  private readonly seen: LRUCache<string, Map<string, object>>;

  constructor(maxChars = 64 * 1024 * 1024) {
    this.seen = new LRUCache<string, Map<string, object>>({
      maxSize: maxChars,
      sizeCalculation: (parts) => {
        let chars = 64;
        for (const text of parts.keys()) chars += text.length + 32;
        return chars;
      },
    });
  }

  /** Starts one read of a workflow; `part` parses (or finds) each text, `done` records what was found. */
  read(threadId: string): { part: <T extends object>(json: string) => T; done: () => void } {
    const before = this.seen.get(threadId);
    const now = new Map<string, object>();
    return {
      part: <T extends object>(json: string): T => {
        let value = now.get(json) ?? before?.get(json);
        if (!value) value = deepFreeze(JSON.parse(json) as object);
        now.set(json, value);
        return value as T;
      },
      done: () => {
        this.seen.set(threadId, now);
      },
    };
  }

  forget(threadId: string): void {
    this.seen.delete(threadId);
  }
}

/** Frozen through nested objects too (an exhibit's fields are flat; a section's are): nobody changes a shared part. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(value);
}
