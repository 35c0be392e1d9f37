import { LRUCache } from 'lru-cache';

/** One workflow's parts as last read, frozen, and about what keeping them costs. */
interface Seen {
  sections: object[];
  exhibits: object[];
  logs: object[];
  size: number;
}

/**
 * Two flat parts (a section, an exhibit, a log line) are the same when every field is. `PortStore` compares
 * the copies another thread sends this way, and the Redis store the parts it parses (`HeldParts`).
 */
export function sameFields(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const k of keys) if (x[k] !== y[k]) return false;
  return true;
}

/** About what keeping a part costs: its string characters and 8 per other field. */
function sizeOf(part: object): number {
  let n = 16;
  for (const v of Object.values(part)) n += typeof v === 'string' ? v.length : 8;
  return n;
}

export type PartKind = 'sections' | 'exhibits' | 'logs';

/**
 * The parts (sections, exhibits, log lines) of each workflow as last read: a read that finds the part it
 * found last time hands out the same frozen object instead of making a new one. The memory store keeps object
 * identity by nature; `PortStore` receives copies from another thread, and with this it keeps the contract's
 * "same objects for the parts a change left alone", so the preview serializes only the parts that changed
 * (piece reuse). (The Redis store did the same with JSON text until its reads learnt to send only what
 * changed: `HeldParts`.)
 *
 * A part is compared with the one at the same place last time (sections and exhibits keep their order; the
 * log window moves forward, so its place is found from the first line), not looked up in a map (hashing every
 * 2 KB section text on each read took 3 % of the main thread). Each read replaces the workflow's entry with
 * what it found, so an entry holds only current parts. Bounded by about the size of what it keeps.
 */
export class PartsInterner {
  private readonly seen: LRUCache<string, Seen>;

  constructor(maxSize = 64 * 1024 * 1024) {
    this.seen = new LRUCache<string, Seen>({ maxSize, sizeCalculation: (s) => s.size + 64 });
  }

  /** One read's parts of each kind, each replaced by last read's object where that part is the same. */
  read(threadId: string, parts: Record<PartKind, object[]>): Record<PartKind, object[]> {
    const before = this.seen.get(threadId);
    const first = parts.logs[0];
    const logOffset = before && first !== undefined ? before.logs.findIndex((l) => sameFields(l, first)) : -1;
    const now: Seen = {
      sections: reuse(parts.sections, before?.sections, 0),
      exhibits: reuse(parts.exhibits, before?.exhibits, 0),
      logs: reuse(parts.logs, before?.logs, logOffset),
      size: 0,
    };
    for (const kind of [now.sections, now.exhibits, now.logs]) for (const part of kind) now.size += sizeOf(part);
    this.seen.set(threadId, now);
    return { sections: now.sections, exhibits: now.exhibits, logs: now.logs };
  }

  forget(threadId: string): void {
    this.seen.delete(threadId);
  }
}

/** `parts`, each the one at `offset + i` last time where that is the same, else frozen as it came. */
function reuse(parts: object[], before: object[] | undefined, offset: number): object[] {
  const kept = before && offset >= 0 ? before : undefined;
  return parts.map((part, i) => {
    const old = kept?.[offset + i];
    return old !== undefined && sameFields(old, part) ? old : deepFreeze(part);
  });
}

/** Frozen through nested objects too: nobody changes a shared part. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(value);
}
