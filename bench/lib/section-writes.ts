import type { SectionPatch, WorkflowStore } from '../../src/store/workflow-store.js';

interface SectionLog {
  /** When the section's opening write (in progress, empty) was made. */
  began: number;
  /** Writes of the text so far: in progress and not the opening one. */
  partials: number;
  /** Every write of the section: the opening one, the partials and the final one. */
  writes: number;
  last: number;
  /** Shortest time between two consecutive in-progress writes (the opening one included). */
  minGap: number;
  endedAt: number | null;
}

/** What `SectionWriteCounter.summary` reports over every section this process has written. */
export interface SectionWriteSummary {
  sections: number;
  /** Sections whose final write (completed or error) has been made. */
  ended: number;
  /** Partial writes × LLM_FLUSH_MS ÷ the section's time so far (to its final write): at most 1 per flush is ≤ 1. */
  maxPerFlush: number;
  meanPerFlush: number;
  /** Shortest gap between two in-progress writes of one section, in ms. */
  minGapMs: number;
  /** Mean writes of an ended section: the opening one, the partials, the final one. */
  writesPerEndedSection: number;
  partials: number;
}

/**
 * Counts the section writes the runner makes (`updateSection` calls, at the moment they are made), per
 * section: the bench's check that a streaming section is saved at most once per `LLM_FLUSH_MS`, not once per
 * token. Installed on the store instance itself, beneath the service's own instrumentation.
 */
export class SectionWriteCounter {
  private readonly sections = new Map<string, SectionLog>();

  install(store: WorkflowStore): WorkflowStore {
    const original = store.updateSection.bind(store);
    store.updateSection = (threadId, sectionId, patch, options) => {
      this.record(`${threadId}/${sectionId}`, patch);
      return original(threadId, sectionId, patch, options);
    };
    return store;
  }

  summary(flushMs: number): SectionWriteSummary {
    const now = Date.now();
    let maxPerFlush = 0;
    let sumPerFlush = 0;
    let measured = 0;
    let minGapMs = Number.POSITIVE_INFINITY;
    let ended = 0;
    let endedWrites = 0;
    let partials = 0;
    for (const s of this.sections.values()) {
      partials += s.partials;
      minGapMs = Math.min(minGapMs, s.minGap);
      if (s.endedAt !== null) {
        ended++;
        endedWrites += s.writes;
      }
      const span = (s.endedAt ?? now) - s.began;
      // A section younger than one flush cannot have a partial yet; it says nothing about the rate.
      if (span < flushMs) continue;
      const perFlush = (s.partials * flushMs) / span;
      maxPerFlush = Math.max(maxPerFlush, perFlush);
      sumPerFlush += perFlush;
      measured++;
    }
    return {
      sections: this.sections.size,
      ended,
      maxPerFlush,
      meanPerFlush: measured ? sumPerFlush / measured : Number.NaN,
      minGapMs: Number.isFinite(minGapMs) ? minGapMs : Number.NaN,
      writesPerEndedSection: ended ? endedWrites / ended : Number.NaN,
      partials,
    };
  }

  private record(key: string, patch: SectionPatch): void {
    const now = Date.now();
    const opening = patch.status === 'in_progress' && patch.content_html === '';
    let s = this.sections.get(key);
    if (!s || opening) {
      s = { began: now, partials: 0, writes: 0, last: now, minGap: Number.POSITIVE_INFINITY, endedAt: null };
      this.sections.set(key, s);
    }
    s.writes++;
    if (patch.status === 'in_progress') {
      if (!opening) {
        s.partials++;
        s.minGap = Math.min(s.minGap, now - s.last);
      }
      s.last = now;
    } else {
      s.endedAt = now;
    }
  }
}
