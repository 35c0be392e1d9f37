import { LRUCache } from 'lru-cache';

/** One workflow's parts as last read: each kind's JSON texts and the frozen objects parsed from them. */
interface Seen {
  sections: Kind;
  exhibits: Kind;
  logs: Kind;
  chars: number;
}
interface Kind {
  texts: string[];
  values: object[];
}

export type PartKind = 'sections' | 'exhibits' | 'logs';

/**
 * The parsed parts (sections, exhibits, log lines) of each workflow as last read, by their JSON text: a read
 * that finds the text it found last time hands out the same frozen object instead of parsing it again. The
 * memory store keeps object identity by nature; with it, the preview serializes only the parts that changed
 * (piece reuse) on Redis too. A generating workflow polled every 2 s changes one section and two log lines
 * per section boundary, so most of each full read is text seen before: parsing it afresh and serializing the
 * new objects again took 8 % of the main thread in bench scenario 4 (Redis, CPU profile).
 *
 * A text is compared with the one at the same place last time (sections and exhibits keep their order; the
 * log window moves forward, so its place is found from the first line), not looked up in a map: a map hashes
 * every 2 KB section text on each read (3 % of the main thread). Each read replaces the workflow's entry with
 * what it found, so an entry holds only current parts. Bounded by the length of the text kept.
 */
export class PartsInterner {
  private readonly seen: LRUCache<string, Seen>;

  constructor(maxChars = 64 * 1024 * 1024) {
    this.seen = new LRUCache<string, Seen>({ maxSize: maxChars, sizeCalculation: (s) => s.chars + 64 });
  }

  /** The objects for one read's texts of each kind, reusing last read's where the text is the same. */
  read(threadId: string, texts: Record<PartKind, string[]>): Record<PartKind, object[]> {
    const before = this.seen.get(threadId);
    const now: Seen = {
      sections: reuse(texts.sections, before?.sections, 0),
      exhibits: reuse(texts.exhibits, before?.exhibits, 0),
      logs: reuse(texts.logs, before?.logs, before ? before.logs.texts.indexOf(texts.logs[0]!) : -1),
      chars: 0,
    };
    for (const kind of [now.sections, now.exhibits, now.logs]) for (const t of kind.texts) now.chars += t.length + 16;
    this.seen.set(threadId, now);
    return { sections: now.sections.values, exhibits: now.exhibits.values, logs: now.logs.values };
  }

  forget(threadId: string): void {
    this.seen.delete(threadId);
  }
}

/** `texts` parsed, where the text at `offset + i` last time was the same: that object and that text kept. */
function reuse(texts: string[], before: Kind | undefined, offset: number): Kind {
  const kept = before && offset >= 0 ? before : null;
  const keptTexts = kept?.texts;
  const values = new Array<object>(texts.length);
  const out = new Array<string>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const old = keptTexts?.[offset + i];
    if (old !== undefined && old === text) {
      values[i] = kept!.values[offset + i]!;
      out[i] = old;
    } else {
      values[i] = deepFreeze(JSON.parse(text) as object);
      out[i] = text;
    }
  }
  return { texts: out, values };
}

/** Frozen through nested objects too: nobody changes a shared part. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(value);
}
