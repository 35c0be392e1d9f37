import { LRUCache } from 'lru-cache';

/** One workflow's parts as last read: each kind's parts as they arrived and the frozen objects made of them. */
interface Seen<T> {
  sections: Kind<T>;
  exhibits: Kind<T>;
  logs: Kind<T>;
  size: number;
}
interface Kind<T> {
  texts: T[];
  values: object[];
}

/** How the parts arrive: here, as objects copied from another thread (`PortStore`). */
export interface PartForm<T> {
  /** The same part as last time? */
  same(a: T, b: T): boolean;
  /** The frozen object handed out for a part seen for the first time. */
  make(part: T): object;
  /** About how much keeping it costs, for the bound. */
  size(part: T): number;
}

/**
 * Parts as a structured clone delivers them: flat objects (a section, an exhibit, a log line), the same when
 * every field is. Its size counts string characters. The Redis store compares its parts the same way
 * (`HeldParts`).
 */
export const clonedParts: PartForm<object> = {
  same: (a, b) => {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) if (x[k] !== y[k]) return false;
    return true;
  },
  make: (part) => deepFreeze(part),
  size: (part) => {
    let n = 16;
    for (const v of Object.values(part)) n += typeof v === 'string' ? v.length : 8;
    return n;
  },
};

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
 * what it found, so an entry holds only current parts. Bounded by the size of what it keeps (`PartForm.size`).
 */
export class PartsInterner<T> {
  private readonly seen: LRUCache<string, Seen<T>>;

  constructor(
    private readonly form: PartForm<T>,
    maxSize = 64 * 1024 * 1024,
  ) {
    this.seen = new LRUCache<string, Seen<T>>({ maxSize, sizeCalculation: (s) => s.size + 64 });
  }

  /** The objects for one read's parts of each kind, reusing last read's where the part is the same. */
  read(threadId: string, texts: Record<PartKind, T[]>): Record<PartKind, object[]> {
    const before = this.seen.get(threadId);
    const first = texts.logs[0];
    const logOffset = before && first !== undefined ? before.logs.texts.findIndex((t) => this.form.same(t, first)) : -1;
    const now: Seen<T> = {
      sections: this.reuse(texts.sections, before?.sections, 0),
      exhibits: this.reuse(texts.exhibits, before?.exhibits, 0),
      logs: this.reuse(texts.logs, before?.logs, logOffset),
      size: 0,
    };
    for (const kind of [now.sections, now.exhibits, now.logs]) for (const t of kind.texts) now.size += this.form.size(t);
    this.seen.set(threadId, now);
    return { sections: now.sections.values, exhibits: now.exhibits.values, logs: now.logs.values };
  }

  forget(threadId: string): void {
    this.seen.delete(threadId);
  }

  /** `texts` made into objects, where the part at `offset + i` last time was the same: that object and that part kept. */
  private reuse(texts: T[], before: Kind<T> | undefined, offset: number): Kind<T> {
    const kept = before && offset >= 0 ? before : null;
    const keptTexts = kept?.texts;
    const values = new Array<object>(texts.length);
    const out = new Array<T>(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      const old = keptTexts?.[offset + i];
      if (old !== undefined && this.form.same(old, text)) {
        values[i] = kept!.values[offset + i]!;
        out[i] = old;
      } else {
        values[i] = this.form.make(text);
        out[i] = text;
      }
    }
    return { texts: out, values };
  }
}

/** Frozen through nested objects too: nobody changes a shared part. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(value);
}
