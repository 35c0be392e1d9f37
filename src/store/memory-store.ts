import type { CaseFacts, Exhibit, LogEntry, Section, Workflow, WorkflowHead } from '../domain/types.js';
import { applySectionPatch, applyTransition, copyHead, copySection, initialHead, newestLogs, workflowOf } from '../domain/state-rules.js';
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

/** A workflow besides its head. Frozen and replaced on change (never changed in place), except `logs`. */
interface Body {
  /** Kept in `section_order`. */
  sections: readonly Section[];
  /** Insertion order is upload order. */
  exhibits: Map<string, Exhibit>;
  /** `exhibits` as the frozen list `get` hands out, rebuilt when one is added. */
  exhibitList: readonly Exhibit[];
  /** Frozen entries; the array itself grows in place and is sliced on the way out. */
  logs: LogEntry[];
}

interface WorkflowRecord {
  head: WorkflowHead;
  /** Null while the body is packed. */
  body: Body | null;
  /**
   * A finished workflow's body as one JSON string. Finished workflows stay for the TTL and are rarely
   * read (the preview caches its serialized form); as objects, about seventy per petition, every full
   * garbage collection walked them. A string is one object to the collector and smaller: heap per stored
   * petition 10.2 → 7.5 KB (bench scenario 7). Unpacked for a read (a copy) or a write (kept until
   * repacked).
   */
  packed: string | null;
  expiresAt: number;
  lease: Lease | null;
}

const FINISHED = new Set<string>(['completed', 'error']);

export interface MemoryStoreOptions {
  ttlSeconds: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** How often expired workflows are swept; default: a tenth of the TTL, at most a minute. */
  sweepIntervalMs?: number;
}

/**
 * Single-process store. Each method runs synchronously between awaits, which makes every change atomic
 * without locks. Values are copied in and frozen; reads hand out the frozen values themselves, so callers
 * can never change stored state (an attempt throws) and a read allocates almost nothing — except for a
 * finished workflow, whose body is kept packed and parsed afresh for each read (see `packed`). Copying on every
 * read cost the capacity benchmark more than anything else: each section's read stayed alive through the
 * writer's 2–5 s, long enough to leave V8's young generation, and died in the old one (bench scenario 4).
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
      head: Object.freeze(withFacts(initialHead(workflow), head.case_facts)),
      // Object literals, not Object.assign or spread: see state-rules.ts.
      body: freezeBody(
        sections.map(copySection).sort((a, b) => a.section_order - b.section_order),
        [],
        logs.slice(-MAX_LOGS_KEPT).map((l) => Object.assign({}, l)),
      ),
      packed: null,
      expiresAt: 0,
      lease: null,
    };
    this.records.set(head.thread_id, record);
    this.commit(record, 'created');
  }

  async getHead(threadId: string): Promise<WorkflowHead | null> {
    const record = this.live(threadId);
    return record ? record.head : null;
  }

  async get(threadId: string, options: { logLimit?: number } = {}): Promise<Workflow | null> {
    const record = this.live(threadId);
    if (!record) return null;
    const limit = options.logLimit ?? MAX_LOGS_KEPT;
    const body = record.body ?? unpack(record.packed ?? '');
    return workflowOf(record.head, {
      sections: body.sections as Section[],
      exhibits: body.exhibitList as Exhibit[],
      logs: newestLogs(body.logs, limit),
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
    if (!transition.from.includes(record.head.status)) return { ok: false, current: record.head.status };
    record.head = applyTransition(record.head, transition);
    if (transition.log) this.pushLog(record, transition.log);
    this.commit(record, 'status');
    return { ok: true, head: record.head };
  }

  async updateSection(
    threadId: string,
    sectionId: string,
    patch: SectionPatch,
    options: SectionWriteOptions,
  ): Promise<number | null> {
    const record = this.live(threadId);
    if (!record || !this.holdsLease(record, options.leaseToken)) return null;
    const body = this.open(record);
    const index = body.sections.findIndex((s) => s.section_id === sectionId);
    const then = options.next;
    const thenIndex = then ? body.sections.findIndex((s) => s.section_id === then.sectionId) : -1;
    if (index < 0 || (then && thenIndex < 0)) return null;
    this.patchSection(record, body, index, patch, options.log);
    if (then && record.head.status === 'generating') this.patchSection(record, body, thenIndex, then.patch, then.log);
    if (options.leaseTtlMs !== undefined && record.lease) record.lease.expiresAt = this.now() + options.leaseTtlMs;
    this.commit(record, 'section');
    return record.head.version;
  }

  private patchSection(record: WorkflowRecord, body: Body, index: number, patch: SectionPatch, log: LogEntry | undefined) {
    const changed = applySectionPatch(record.head, body.sections[index]!, patch);
    body.sections = Object.freeze(body.sections.with(index, Object.freeze(changed.section)));
    record.head = changed.head;
    if (log) this.pushLog(record, log);
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
    const body = this.open(record);
    const replaced = body.exhibits.get(exhibit.exhibit_id) ?? null;
    // A replacement moves to the end: exhibits are listed by upload time.
    body.exhibits.delete(exhibit.exhibit_id);
    body.exhibits.set(exhibit.exhibit_id, Object.freeze(Object.assign({}, exhibit)));
    body.exhibitList = Object.freeze([...body.exhibits.values()]);
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

  async listGenerating({ skip, unleased = false }: { skip?: (threadId: string) => boolean; unleased?: boolean } = {}): Promise<string[]> {
    const now = this.now();
    const ids: string[] = [];
    for (const [id, r] of this.records) {
      if (r.head.status !== 'generating' || r.expiresAt <= now || skip?.(id)) continue;
      if (unleased && r.lease && r.lease.expiresAt > now) continue;
      ids.push(id);
    }
    return ids;
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
    this.packIfFinished(record);
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
    const { logs } = this.open(record);
    logs.push(Object.freeze(Object.assign({}, entry)));
    if (logs.length > MAX_LOGS_KEPT) logs.splice(0, logs.length - MAX_LOGS_KEPT);
  }

  /** The body, unpacked for a change. */
  private open(record: WorkflowRecord): Body {
    if (!record.body) {
      record.body = unpack(record.packed ?? '');
      record.packed = null;
    }
    return record.body;
  }

  /** Packs a finished workflow's body once no loop holds it (its last writes come with the lease). */
  private packIfFinished(record: WorkflowRecord): void {
    const { body } = record;
    if (!body || record.lease || !FINISHED.has(record.head.status)) return;
    record.packed = JSON.stringify({ sections: body.sections, exhibits: body.exhibitList, logs: body.logs });
    record.body = null;
  }

  private commit(record: WorkflowRecord, kind: WorkflowChangeKind): void {
    const now = this.now();
    const updated_at = new Date(now).toISOString();
    const head = copyHead(record.head);
    head.version = record.head.version + 1;
    head.updated_at = updated_at;
    record.head = Object.freeze(head);
    record.expiresAt = now + this.ttlMs;
    this.packIfFinished(record);
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

/** Freezes objects the store owns (copies of the caller's, or just parsed) into a body. */
function freezeBody(sections: Section[], exhibits: Exhibit[], logs: LogEntry[]): Body {
  const frozen = exhibits.map((e) => Object.freeze(e));
  return {
    sections: Object.freeze(sections.map((s) => Object.freeze(s))),
    exhibits: new Map(frozen.map((e) => [e.exhibit_id, e])),
    exhibitList: Object.freeze(frozen),
    logs: logs.map((l) => Object.freeze(l)),
  };
}

function unpack(packed: string): Body {
  const parsed = JSON.parse(packed) as { sections: Section[]; exhibits: Exhibit[]; logs: LogEntry[] };
  const { sections, exhibits, logs } = parsed;
  return freezeBody(sections.map(copySection), exhibits, logs);
}

/**
 * The head with a frozen deep copy of the case facts (strings and arrays of strings), as a literal; `satisfies`
 * makes a field added to `CaseFacts` a compile error here rather than one the store silently drops.
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
