import type { DocumentPage, DocumentQuery } from '../domain/document-list.js';
import type { CaseFacts, Exhibit, ExhibitTextResult, LogEntry, Section, Workflow, WorkflowHead } from '../domain/types.js';
import { applySectionPatch, applyTransition, copyHead, copySection, initialHead, newestLogs, workflowOf } from '../domain/state-rules.js';
import {
  MAX_LOGS_KEPT,
  WRITE_IDS_KEPT,
  type ExhibitTextWrite,
  type NewWorkflow,
  type PutExhibitResult,
  type SectionPatch,
  type SectionWriteOptions,
  type Transition,
  type TransitionResult,
  type WorkflowChange,
  type WorkflowChangeKind,
  type WorkflowStore,
  type WriteOptions,
} from './workflow-store.js';
import { DocumentOrder } from './memory-document-list.js';

interface Lease {
  token: string;
  expiresAt: number;
}

/** One workflow. Every value in it is frozen, and replaced (never changed in place) by a write. */
interface WorkflowRecord {
  head: WorkflowHead;
  /** In `section_order`. */
  sections: readonly Section[];
  /** Insertion order is upload order (a replacement is deleted and added again). */
  exhibits: Map<string, Exhibit>;
  /** Oldest first; the array grows in place, so reads hand out slices. */
  logs: LogEntry[];
  expiresAt: number;
  lease: Lease | null;
  /** The newest applied write ids, oldest first, each with the version its write left ("Retried writes"). */
  writes: Map<string, number>;
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
 * without locks. Values are copied in and frozen, and reads hand out those frozen values (with fresh arrays
 * where the stored one grows in place): a caller can never change stored state, and a read copies little.
 * An expired workflow is dropped when next touched, and by a periodic sweep.
 */
export class MemoryWorkflowStore implements WorkflowStore {
  private readonly records = new Map<string, WorkflowRecord>();
  private readonly listeners = new Set<(change: WorkflowChange) => void>();
  private readonly releaseListeners = new Set<(threadId: string) => void>();
  private readonly order = new DocumentOrder();
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
      head: withFacts(initialHead(workflow), head.case_facts),
      sections: Object.freeze(
        sections
          .map((s) => Object.freeze(Object.assign(copySection(s), { version: 1 })))
          .sort((a, b) => a.section_order - b.section_order),
      ),
      exhibits: new Map(),
      logs: [],
      expiresAt: 0,
      lease: null,
      writes: new Map(),
    };
    for (const entry of logs) pushLog(record, entry);
    this.records.set(head.thread_id, record);
    this.order.add(head.created_at, head.thread_id);
    this.commit(record, 'created');
  }

  async getHead(threadId: string): Promise<WorkflowHead | null> {
    return this.live(threadId)?.head ?? null;
  }

  async get(threadId: string, options: { logLimit?: number } = {}): Promise<Workflow | null> {
    const record = this.live(threadId);
    if (!record) return null;
    return workflowOf(record.head, {
      sections: record.sections as Section[],
      exhibits: [...record.exhibits.values()],
      logs: newestLogs(record.logs, options.logLimit ?? MAX_LOGS_KEPT),
    });
  }

  async getIfChanged(
    threadId: string,
    knownVersion: number,
    options: { logLimit?: number } = {},
  ): Promise<{ head: WorkflowHead; workflow: Workflow | null } | null> {
    const record = this.live(threadId);
    if (!record) return null;
    if (record.head.version === knownVersion) return { head: record.head, workflow: null };
    const workflow = await this.get(threadId, options);
    return workflow && { head: workflow, workflow };
  }

  async transition(threadId: string, transition: Transition): Promise<TransitionResult> {
    const record = this.live(threadId);
    if (!record) return { ok: false, current: null };
    if (replayed(record, transition.writeId) !== undefined) return { ok: true, head: record.head };
    if (!transition.from.includes(record.head.status)) return { ok: false, current: record.head.status };
    record.head = applyTransition(record.head, transition);
    if (transition.log) pushLog(record, transition.log);
    this.commit(record, 'status', transition.writeId);
    return { ok: true, head: record.head };
  }

  async updateSection(
    threadId: string,
    sectionId: string,
    patch: SectionPatch,
    options: SectionWriteOptions,
  ): Promise<number | null> {
    const record = this.live(threadId);
    if (!record) return null;
    const replay = replayed(record, options.writeId);
    if (replay !== undefined) return replay;
    if (!this.holdsLease(record, options.leaseToken)) return null;
    const index = record.sections.findIndex((s) => s.section_id === sectionId);
    if (index < 0) return null;
    const changed = applySectionPatch(record.head, record.sections[index]!, patch);
    record.sections = Object.freeze(record.sections.with(index, Object.freeze(changed.section)));
    record.head = changed.head;
    if (options.log) pushLog(record, options.log);
    this.commit(record, 'section', options.writeId);
    return record.head.version;
  }

  async appendLog(threadId: string, entry: LogEntry, options: WriteOptions = {}): Promise<boolean> {
    const record = this.live(threadId);
    if (!record) return false;
    if (replayed(record, options.writeId) !== undefined) return true;
    pushLog(record, entry);
    this.commit(record, 'log', options.writeId);
    return true;
  }

  async putExhibit(threadId: string, exhibit: Exhibit, log?: LogEntry): Promise<PutExhibitResult | null> {
    const record = this.live(threadId);
    if (!record) return null;
    const replaced = record.exhibits.get(exhibit.exhibit_id) ?? null;
    record.exhibits.delete(exhibit.exhibit_id);
    record.exhibits.set(exhibit.exhibit_id, Object.freeze({ ...exhibit }));
    if (log) pushLog(record, log);
    this.commit(record, 'exhibit');
    return { replaced };
  }

  async setExhibitText(
    threadId: string,
    exhibitId: string,
    uploadId: string,
    result: ExhibitTextResult,
    log?: LogEntry,
  ): Promise<ExhibitTextWrite> {
    const record = this.live(threadId);
    const current = record?.exhibits.get(exhibitId);
    if (!record || current?.upload_id !== uploadId) return 'gone';
    if (current.text_status !== 'pending') return 'already';
    // Setting an existing key keeps its place in the Map: the upload order does not change.
    record.exhibits.set(exhibitId, Object.freeze(withText(current, result)));
    if (log) pushLog(record, log);
    this.commit(record, 'exhibit');
    return 'written';
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

  async listGenerating({ unleased = false }: { unleased?: boolean } = {}): Promise<string[]> {
    const now = this.now();
    const ids: string[] = [];
    for (const [id, r] of this.records) {
      if (r.head.status !== 'generating' || r.expiresAt <= now) continue;
      if (unleased && r.lease && r.lease.expiresAt > now) continue;
      ids.push(id);
    }
    return ids;
  }

  async listDocuments(query: DocumentQuery): Promise<DocumentPage> {
    return this.order.page(query, (id) => this.live(id)?.head ?? null);
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

  subscribe(listener: (change: WorkflowChange) => void, onReady?: () => void): () => void {
    this.listeners.add(listener);
    onReady?.();
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.listeners.clear();
    this.releaseListeners.clear();
  }

  /** Number of stored workflows, expired or not yet swept; for tests and benchmarks. */
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

  /** Ends every write: the next version, `updated_at`, the expiry, the write id kept, and the change announced. */
  private commit(record: WorkflowRecord, kind: WorkflowChangeKind, writeId?: string): void {
    const now = this.now();
    const head = copyHead(record.head);
    head.version = record.head.version + 1;
    head.updated_at = new Date(now).toISOString();
    record.head = Object.freeze(head);
    record.expiresAt = now + this.ttlMs;
    if (writeId) remember(record, writeId, head.version);
    this.emit({ thread_id: head.thread_id, version: head.version, kind });
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
    this.order.compact((id) => this.records.has(id));
  }
}

/** The version a write with this id left, when one was applied; undefined otherwise (or without an id). */
function replayed(record: WorkflowRecord, writeId: string | undefined): number | undefined {
  return writeId ? record.writes.get(writeId) : undefined;
}

/** The exhibit with the result's text fields, and without the text fields the result leaves out. */
function withText(exhibit: Exhibit, result: ExhibitTextResult): Exhibit {
  const { text_chars, text_error, page_count, ...rest } = exhibit;
  const next: Exhibit = Object.assign(rest, { text_status: result.text_status });
  if (result.text_chars !== undefined) next.text_chars = result.text_chars;
  if (result.text_error !== undefined) next.text_error = result.text_error;
  if (result.page_count !== undefined) next.page_count = result.page_count;
  return next;
}

function remember(record: WorkflowRecord, writeId: string, version: number): void {
  record.writes.set(writeId, version);
  if (record.writes.size > WRITE_IDS_KEPT) record.writes.delete(record.writes.keys().next().value!);
}

function pushLog(record: WorkflowRecord, entry: LogEntry): void {
  record.logs.push(Object.freeze({ timestamp: entry.timestamp, level: entry.level, message: entry.message, agent: entry.agent }));
  if (record.logs.length > MAX_LOGS_KEPT) record.logs.splice(0, record.logs.length - MAX_LOGS_KEPT);
}

/**
 * The head with a frozen deep copy of the case facts (strings and arrays of strings); `satisfies` makes a
 * field added to `CaseFacts` a compile error here rather than one the store silently drops.
 */
function withFacts(head: WorkflowHead, facts: CaseFacts | null | undefined): WorkflowHead {
  const list = (items: string[] | undefined) => (items ? Object.freeze([...items]) : undefined);
  head.case_facts = facts
    ? Object.freeze({
        beneficiary_name: facts.beneficiary_name,
        field: facts.field,
        awards: list(facts.awards),
        memberships: list(facts.memberships),
        publications: list(facts.publications),
      } satisfies Record<keyof CaseFacts, unknown>) as CaseFacts
    : null;
  return head;
}
