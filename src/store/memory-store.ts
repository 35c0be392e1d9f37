import type { CaseFacts, Exhibit, LogEntry, Section, Workflow, WorkflowHead } from '../workflow/types.js';
import { applySectionPatch, applyTransition, initialHead } from './state-rules.js';
import {
  MAX_LOGS_KEPT,
  type NewWorkflow,
  type PutExhibitResult,
  type SectionPatch,
  type SectionWriteOptions,
  type Transition,
  type TransitionResult,
  type WorkflowChange,
  type WorkflowChangeKind,
  type WorkflowStore,
} from './workflow-store.js';

interface Lease {
  token: string;
  expiresAt: number;
}

interface WorkflowRecord {
  head: WorkflowHead;
  /** Kept in `section_order`. */
  sections: Section[];
  /** Insertion order is upload order. */
  exhibits: Map<string, Exhibit>;
  logs: LogEntry[];
  expiresAt: number;
  lease: Lease | null;
}

export interface MemoryStoreOptions {
  ttlSeconds: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** How often expired workflows are swept; default: a tenth of the TTL, at most a minute. */
  sweepIntervalMs?: number;
}

/**
 * Single-process store. Each method runs synchronously between awaits, which makes every change atomic
 * without locks; values are copied in and out so callers can never mutate stored state.
 */
export class MemoryWorkflowStore implements WorkflowStore {
  private readonly records = new Map<string, WorkflowRecord>();
  private readonly listeners = new Set<(change: WorkflowChange) => void>();
  private readonly releaseListeners = new Set<(threadId: string) => void>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.now = options.now ?? (() => Date.now());
    const interval = options.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, this.ttlMs / 10));
    this.sweeper = setInterval(() => this.sweep(), interval);
    this.sweeper.unref();
  }

  async create(workflow: NewWorkflow): Promise<void> {
    const { head, sections, logs } = workflow;
    if (this.live(head.thread_id)) throw new Error(`workflow ${head.thread_id} already exists`);
    const record: WorkflowRecord = {
      // Copied in (the caller keeps its object); initialHead only shares the reference.
      head: { ...initialHead(workflow), case_facts: head.case_facts ? structuredClone(head.case_facts) : null },
      sections: [...sections].sort((a, b) => a.section_order - b.section_order).map((s) => ({ ...s })),
      exhibits: new Map(),
      logs: logs.slice(-MAX_LOGS_KEPT).map((l) => ({ ...l })),
      expiresAt: 0,
      lease: null,
    };
    this.records.set(head.thread_id, record);
    this.commit(record, 'created');
  }

  async getHead(threadId: string): Promise<WorkflowHead | null> {
    const record = this.live(threadId);
    return record ? copyHead(record.head) : null;
  }

  async get(threadId: string, options: { logLimit?: number } = {}): Promise<Workflow | null> {
    const record = this.live(threadId);
    if (!record) return null;
    const limit = options.logLimit ?? MAX_LOGS_KEPT;
    return {
      ...copyHead(record.head),
      sections: record.sections.map((s) => ({ ...s })),
      exhibits: [...record.exhibits.values()].map((e) => ({ ...e })),
      logs: limit > 0 ? record.logs.slice(-limit).map((l) => ({ ...l })) : [],
    };
  }

  async transition(threadId: string, transition: Transition): Promise<TransitionResult> {
    const record = this.live(threadId);
    if (!record) return { ok: false, current: null };
    if (!transition.from.includes(record.head.status)) return { ok: false, current: record.head.status };
    record.head = applyTransition(record.head, transition);
    if (transition.log) this.pushLog(record, transition.log);
    this.commit(record, 'status');
    return { ok: true, head: copyHead(record.head) };
  }

  async updateSection(
    threadId: string,
    sectionId: string,
    patch: SectionPatch,
    options: SectionWriteOptions,
  ): Promise<boolean> {
    const record = this.live(threadId);
    if (!record || !this.holdsLease(record, options.leaseToken)) return false;
    const index = record.sections.findIndex((s) => s.section_id === sectionId);
    const section = record.sections[index];
    if (!section) return false;
    const next = applySectionPatch(record.head, section, patch);
    record.sections[index] = next.section;
    record.head = next.head;
    if (options.log) this.pushLog(record, options.log);
    this.commit(record, 'section');
    return true;
  }

  async appendLog(threadId: string, entry: LogEntry): Promise<boolean> {
    const record = this.live(threadId);
    if (!record) return false;
    this.pushLog(record, entry);
    this.commit(record, 'log');
    return true;
  }

  async putExhibit(threadId: string, exhibit: Exhibit, log?: LogEntry): Promise<PutExhibitResult | null> {
    const record = this.live(threadId);
    if (!record) return null;
    const replaced = record.exhibits.get(exhibit.exhibit_id) ?? null;
    // A replacement moves to the end: exhibits are listed by upload time.
    record.exhibits.delete(exhibit.exhibit_id);
    record.exhibits.set(exhibit.exhibit_id, { ...exhibit });
    if (log) this.pushLog(record, log);
    this.commit(record, 'exhibit');
    return { replaced };
  }

  async delete(threadId: string): Promise<boolean> {
    const record = this.live(threadId);
    if (!record) return false;
    this.records.delete(threadId);
    this.emit({ thread_id: threadId, version: record.head.version + 1, kind: 'deleted' });
    return true;
  }

  async listActive(): Promise<string[]> {
    const now = this.now();
    return [...this.records.entries()].filter(([, r]) => r.expiresAt > now).map(([id]) => id);
  }

  async acquireLease(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    const record = this.live(threadId);
    if (!record) return false;
    const now = this.now();
    if (record.lease && record.lease.expiresAt > now && record.lease.token !== token) return false;
    record.lease = { token, expiresAt: now + ttlMs };
    return true;
  }

  async renewLease(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    const record = this.live(threadId);
    if (!record || !this.holdsLease(record, token)) return false;
    record.lease = { token, expiresAt: this.now() + ttlMs };
    return true;
  }

  async releaseLease(threadId: string, token: string): Promise<void> {
    const record = this.records.get(threadId);
    if (record?.lease?.token !== token) return;
    record.lease = null;
    for (const listener of this.releaseListeners) {
      try {
        listener(threadId);
      } catch {
        // A failing listener must not fail the release.
      }
    }
  }

  onLeaseReleased(listener: (threadId: string) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  subscribe(listener: (change: WorkflowChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.listeners.clear();
    this.releaseListeners.clear();
  }

  /** Number of stored workflows, expired or not; for tests and benchmarks. */
  get size(): number {
    return this.records.size;
  }

  private live(threadId: string): WorkflowRecord | null {
    const record = this.records.get(threadId);
    if (!record) return null;
    if (record.expiresAt <= this.now()) {
      this.records.delete(threadId);
      return null;
    }
    return record;
  }

  private holdsLease(record: WorkflowRecord, token: string): boolean {
    return record.lease !== null && record.lease.token === token && record.lease.expiresAt > this.now();
  }

  private pushLog(record: WorkflowRecord, entry: LogEntry): void {
    record.logs.push({ ...entry });
    if (record.logs.length > MAX_LOGS_KEPT) record.logs.splice(0, record.logs.length - MAX_LOGS_KEPT);
  }

  private commit(record: WorkflowRecord, kind: WorkflowChangeKind): void {
    const now = this.now();
    record.head = { ...record.head, version: record.head.version + 1, updated_at: new Date(now).toISOString() };
    record.expiresAt = now + this.ttlMs;
    this.emit({ thread_id: record.head.thread_id, version: record.head.version, kind });
  }

  private emit(change: WorkflowChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A failing listener must not undo or block a committed change.
      }
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, record] of this.records) if (record.expiresAt <= now) this.records.delete(id);
  }
}

/**
 * `case_facts` is the one nested value in the head: copy it too, or callers could change stored state.
 * Its values are strings and arrays of strings (see `CaseFacts`), so a copy of each array is a deep copy;
 * `structuredClone` here was the largest single cost of `getHead`, which every preview poll calls.
 */
function copyHead(head: WorkflowHead): WorkflowHead {
  return { ...head, case_facts: head.case_facts ? copyFacts(head.case_facts) : null };
}

function copyFacts(facts: CaseFacts): CaseFacts {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(facts)) copy[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
  return copy as CaseFacts;
}
