import { LRUCache } from 'lru-cache';
import type { Exhibit, LogEntry, Section } from '../../domain/types.js';
import { sameFields } from '../parts-interner.js';
import { newestLogs } from '../../domain/state-rules.js';

/** What a read can build on: the snapshot this process holds, as the read script's arguments name it. */
export interface ReadBase {
  version: number;
  logsTotal: number;
  /** Which creation of the thread id the parts belong to (a delete and a new create start another). */
  incarnation: string;
}

/**
 * A read's parts as Redis sent them. `full`: every section and exhibit and the newest `limit` log lines.
 * `delta`: only the sections stamped after the base's version, the exhibits only when one changed since
 * (else null), and only the log lines pushed since (the newest `limit` of them).
 */
export interface PartsReply {
  mode: 'full' | 'delta';
  /** Section JSON texts. */
  sections: string[];
  /** Exhibit JSON texts in upload order; null when a delta left them out (unchanged). */
  exhibits: string[] | null;
  /** Log JSON texts, oldest first. */
  logs: string[];
}

export interface Parts {
  sections: Section[];
  exhibits: Exhibit[];
  logs: LogEntry[];
}

/** What the process holds of one workflow: what `base()` hands out for `apply()` to build on. */
export interface Held extends Parts, ReadBase {
  /** How many of the newest log lines `logs` holds at most (fewer only when there were fewer). */
  logWindow: number;
  size: number;
}

/**
 * About what keeping the parts costs, for the bound: their long strings and a fixed overhead per part. (An
 * exact count per part would need a WeakMap beside every part; V8 walks such tables at every collection.)
 */
function sizeOf(parts: Parts): number {
  let size = 0;
  for (const s of parts.sections) size += s.content_html.length + 256;
  for (const l of parts.logs) size += l.message.length + 128;
  return size + parts.exhibits.length * 512;
}

/**
 * Each workflow's parts as this process last read them from Redis, so that the next read asks only for what
 * changed since (`ReadBase`: the version, the log count, the incarnation) and unchanged parts stay the same
 * frozen objects — the store contract's identity rule, which lets the preview serialize only what changed.
 * The read script answers a base it can build on with the sections stamped after it, the new log lines and,
 * only when one changed, the exhibits: a poll of a generating petition moves one or two sections and two log
 * lines of its five sections and dozens of lines, so most of a full read was text this process already held.
 *
 * A full read (nothing held, a wider log window than held) still reuses the held objects of the parts that
 * are field for field the same; one of another incarnation (deleted and created again) reuses nothing.
 * Bounded by about the size of what it keeps; an evicted workflow's next read is a full one.
 */
export class HeldParts {
  private readonly held: LRUCache<string, Held>;

  constructor(maxSize = 64 * 1024 * 1024) {
    this.held = new LRUCache<string, Held>({ maxSize, sizeCalculation: (h) => h.size + 64 });
  }

  /** The base a read of `logLimit` lines can build on, or null: read everything. */
  base(threadId: string, logLimit: number): Held | null {
    const held = this.held.get(threadId);
    if (!held) return null;
    // The lines before the held window are not held: a wider window needs them from Redis.
    if (logLimit > held.logWindow && held.logs.length < held.logsTotal) return null;
    return held;
  }

  /**
   * The parts at the version `now` names, from the reply to a read made with `base` (what `base()` returned
   * then); null when a delta cannot be applied to it (a section it does not hold), which asks for a full read.
   */
  apply(threadId: string, base: Held | null, now: ReadBase, reply: PartsReply, logLimit: number): Parts | null {
    const held = base ?? this.held.get(threadId);
    const same = held && held.incarnation === now.incarnation ? held : undefined;
    let parts: Parts & { logWindow: number };
    if (reply.mode === 'delta') {
      if (!same || !base) return null;
      const sections = same.sections.slice();
      for (const text of reply.sections) {
        const section = parsed<Section>(text);
        const at = sections.findIndex((s) => s.section_id === section.section_id);
        if (at < 0) return null;
        sections[at] = keep(section, sections[at]);
      }
      const exhibits = reply.exhibits ? reuse(reply.exhibits, same.exhibits, (e) => e.exhibit_id) : same.exhibits;
      parts = { sections, exhibits, ...mergeLogs(same, reply.logs, now.logsTotal - same.logsTotal, logLimit) };
    } else {
      const sections = reuse(reply.sections, same?.sections ?? [], (s) => s.section_id);
      sections.sort((a, b) => a.section_order - b.section_order);
      const exhibits = reuse(reply.exhibits ?? [], same?.exhibits ?? [], (e) => e.exhibit_id);
      const logs = reply.logs.map((text) => parsed<LogEntry>(text));
      parts = { sections, exhibits, logs, logWindow: logLimit };
    }
    const current = this.held.get(threadId);
    // Two reads of one workflow can finish out of order: the cache keeps the newer snapshot.
    if (!current || current.incarnation !== now.incarnation || current.version <= now.version) {
      this.held.set(threadId, { ...parts, ...now, size: sizeOf(parts) });
    }
    // Copies of the lists (the parts themselves are frozen): a caller's push must not reach the held ones.
    return { sections: parts.sections.slice(), exhibits: parts.exhibits.slice(), logs: newestLogs(parts.logs, logLimit) };
  }

  forget(threadId: string): void {
    this.held.delete(threadId);
  }
}

/**
 * The held lines followed by the `fresh` lines pushed since, of which Redis sent the newest `limit` (`got`).
 * Keeps the wider of the held window and this read's, as far as the lines allow.
 */
function mergeLogs(held: Held, got: string[], fresh: number, limit: number): { logs: LogEntry[]; logWindow: number } {
  const lines = got.map((text) => parsed<LogEntry>(text));
  if (fresh > got.length) return { logs: lines, logWindow: limit };
  const logWindow = Math.max(limit, held.logWindow);
  return { logs: newestLogs(held.logs.concat(lines), logWindow), logWindow };
}

/** A part from its JSON, frozen: parts are shared between reads (flat objects, so one freeze covers them). */
const parsed = <T extends object>(text: string): T => Object.freeze(JSON.parse(text) as T);

/** The parts parsed from `texts`, each the held part of the same id where that one is field for field the same. */
function reuse<T extends object>(texts: string[], held: readonly T[], idOf: (part: T) => string): T[] {
  return texts.map((text) => {
    const part = parsed<T>(text);
    return keep(part, held.find((h) => idOf(h) === idOf(part)));
  });
}

/** `old` when `part` equals it field for field, else `part`. */
function keep<T extends object>(part: T, old: T | undefined): T {
  return old && sameFields(old, part) ? old : part;
}
