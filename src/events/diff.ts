import type { LogEntry } from '../domain/types.js';
import type { WorkflowView } from './view.js';

/** The typed events of the stream; `snapshot` and `end` are produced by the hub itself. */
export type ChangeEventType = 'section' | 'exhibit' | 'log' | 'metadata' | 'status';

export interface ChangeEvent {
  type: ChangeEventType;
  data: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const logKey = (l: LogEntry) => `${l.timestamp}\u0000${l.level}\u0000${l.agent}\u0000${l.message}`;

/**
 * Log lines carry no id and the view keeps only the newest 50, so the new lines are what follows the
 * longest overlap between the end of the old list and the start of the new one.
 */
export function newLogs(before: LogEntry[], after: LogEntry[]): LogEntry[] {
  const old = before.map(logKey);
  const now = after.map(logKey);
  for (let k = Math.min(old.length, now.length); k > 0; k--) {
    let match = true;
    for (let i = 0; i < k && match; i++) match = old[old.length - k + i] === now[i];
    if (match) return after.slice(k);
  }
  return after;
}

/**
 * The events that take a client from `before` to `after`. Ordered so a client applying them in turn never
 * shows a state that did not exist: content first, then the numbers, then the status (a `completed` status
 * arrives after the last section).
 */
export function diffViews(before: WorkflowView, after: WorkflowView): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  const oldSections = new Map(before.body.sections.map((s) => [s.section_id, s]));
  for (const section of after.body.sections) {
    if (!same(oldSections.get(section.section_id), section)) events.push({ type: 'section', data: section });
  }
  const oldExhibits = new Map(before.body.exhibits.map((e) => [e.exhibit_id, e]));
  for (const exhibit of after.body.exhibits) {
    if (!same(oldExhibits.get(exhibit.exhibit_id), exhibit)) events.push({ type: 'exhibit', data: exhibit });
  }
  for (const log of newLogs(before.body.logs, after.body.logs)) events.push({ type: 'log', data: log });
  if (!same(before.body.metadata, after.body.metadata)) events.push({ type: 'metadata', data: after.body.metadata });
  if (before.body.status !== after.body.status || before.body.error_message !== after.body.error_message) {
    events.push({
      type: 'status',
      data: { status: after.body.status, ...(after.body.error_message ? { error_message: after.body.error_message } : {}) },
    });
  }
  return events;
}
