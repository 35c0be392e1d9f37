import type { NewWorkflow, SectionPatch, Transition } from '../domain/changes.js';
import type { DocumentPage, DocumentQuery } from '../domain/document-list.js';
import type { Exhibit, ExhibitTextResult, LogEntry, Workflow, WorkflowHead, WorkflowStatus } from '../domain/types.js';

export type { NewWorkflow, SectionPatch, Transition } from '../domain/changes.js';

export type TransitionResult =
  | { ok: true; head: WorkflowHead }
  | { ok: false; /** null: the workflow does not exist. */ current: WorkflowStatus | null };

/** What a write that a caller may retry (after `StoreUnavailableError`) passes to be applied at most once. */
export interface WriteOptions {
  /**
   * Names one logical write, the same across its retries (a fresh uuid per write): see "Retried writes" on
   * {@link WorkflowStore}.
   */
  writeId?: string;
}

export interface SectionWriteOptions extends WriteOptions {
  /** The lease the writing loop holds; the write is refused unless it is still the current, unexpired lease. */
  leaseToken: string;
  /** Appended in the same write. */
  log?: LogEntry;
}

export interface PutExhibitResult {
  /** The exhibit with the same id that this one replaced, if any. */
  replaced: Exhibit | null;
}

/**
 * What `setExhibitText` did: `written`; `already`, the upload has a result (another process finished it
 * first); `gone`, exhibit `exhibitId` is no longer that upload (replaced, or the workflow deleted).
 */
export type ExhibitTextWrite = 'written' | 'already' | 'gone';

export type WorkflowChangeKind = 'created' | 'section' | 'status' | 'log' | 'exhibit' | 'deleted';

/** Emitted after every committed change, in every process (Redis: through pub/sub). */
export interface WorkflowChange {
  thread_id: string;
  version: number;
  kind: WorkflowChangeKind;
}

/**
 * The only way code reaches workflow state: `MemoryWorkflowStore` (one process) and `RedisWorkflowStore`
 * (shared), both held to it by one contract suite (tests/store/contract.test.ts). A caller may rely on what
 * is written here, and on nothing else:
 *
 * - **Atomic.** Each method is one atomic step: concurrent calls on one workflow never lose each other's
 *   changes, and no read sees part of a write.
 * - **Versions.** Every write that succeeds (create, transition, updateSection, appendLog, putExhibit) bumps
 *   the workflow's `version` by exactly one, whatever it touched, sets `updated_at`, restarts the expiry and
 *   emits one {@link WorkflowChange} with that version; `delete` emits `deleted` with the version it would
 *   have had next. A write that is refused, finds no workflow or repeats an applied one (its `writeId`, see
 *   below) changes and emits nothing. Reads and lease
 *   calls change no version and no expiry.
 * - **Section versions.** Every section read carries `version`, the workflow version of the write that last
 *   changed it (its creation included): within one workflow's life, the same section version means the same
 *   section.
 * - **Snapshots.** What a read returns is never changed by later writes, and changing it never changes what
 *   is stored. It may be frozen (copy before changing it). Nothing is promised about object identity:
 *   two reads may or may not share objects.
 * - **Order.** Sections by `section_order`; exhibits by upload time (a replacement is a new upload: it moves
 *   to the end); logs oldest first, the newest {@link MAX_LOGS_KEPT} kept.
 * - **Missing.** A method that addresses a workflow that does not exist — never created, deleted or expired —
 *   answers null, false or `{ok: false, current: null}` (see each method) and creates nothing.
 * - **Expiry.** A workflow expires `WORKFLOW_TTL_SECONDS` after its last write; from then on it is as if
 *   deleted (reads, listings and leases included), though no `deleted` change is announced for it.
 * - **Failure.** `StoreUnavailableError` when the backing service cannot be reached; after one, a write may
 *   or may not have happened (read again to know), and may still happen later: a hung Redis runs a
 *   timed-out command when it wakes.
 * - **Retried writes.** `transition`, `updateSection` and `appendLog` take an optional `writeId`. A write
 *   applied with an id is remembered with the workflow (the newest {@link WRITE_IDS_KEPT} of them, for the
 *   workflow's life); another copy with that id, before or after the first lands, changes nothing, adds no
 *   log line, bumps no version, emits nothing, and answers as an applied write: `updateSection` the version
 *   the first copy left, `appendLog` true, `transition` `ok` with the current head — whatever the lease and
 *   the status are by then. A write that was refused is not remembered (its retry is judged afresh), nor is
 *   one without an id. So a caller that retries after `StoreUnavailableError` with the same id gets its
 *   write applied exactly once, provided fewer than {@link WRITE_IDS_KEPT} other identified writes of the
 *   workflow land between its copies.
 */
export interface WorkflowStore {
  /** Stores a new workflow at version 1. Throws when the thread id exists. */
  create(workflow: NewWorkflow): Promise<void>;

  /** The scalar state only: cheap. Null when missing. */
  getHead(threadId: string): Promise<WorkflowHead | null>;

  /**
   * The whole state; `logLimit` keeps only the newest N logs (0: none; default, and at most, all that are kept).
   * Null when missing.
   */
  get(threadId: string, options?: { logLimit?: number }): Promise<Workflow | null>;

  /**
   * In one atomic read, the head, and the whole state (as `get`) unless the version is still `knownVersion`
   * (then `workflow` is null; -1 never matches): what a reader that keeps what it built from one version asks
   * on every poll. Null when missing.
   */
  getIfChanged(
    threadId: string,
    knownVersion: number,
    options?: { logLimit?: number },
  ): Promise<{ head: WorkflowHead; workflow: Workflow | null } | null>;

  /**
   * Compare-and-set of the status, with its log line: applied only when the current status is one of
   * `from`, so of racing transitions from one status exactly one succeeds. The head's timing fields follow
   * `applyTransition` (domain/state-rules.ts): `error` records the message, `generating` clears it.
   */
  transition(threadId: string, transition: Transition): Promise<TransitionResult>;

  /**
   * Changes one section (and appends the log line) if `leaseToken` holds the workflow's lease, whatever the
   * workflow's status. The head's sums follow `applySectionPatch`: a section entering `completed` adds its
   * tokens and duration once, one leaving it takes them out. Does not extend the lease.
   * Answers the workflow's version after the write — one more than the version the writer last saw means
   * nobody else wrote meanwhile — or null (nothing written) when the workflow, the section or the lease is gone.
   */
  updateSection(threadId: string, sectionId: string, patch: SectionPatch, options: SectionWriteOptions): Promise<number | null>;

  /** Appends a log line (only the newest 100 are kept). False when missing. */
  appendLog(threadId: string, entry: LogEntry, options?: WriteOptions): Promise<boolean>;

  /** Adds or replaces (same `exhibit_id`) an exhibit, with its log line. Null when missing. */
  putExhibit(threadId: string, exhibit: Exhibit, log?: LogEntry): Promise<PutExhibitResult | null>;

  /**
   * Records the outcome of an exhibit's text extraction, with its log line, as a change of kind `exhibit`
   * — only while exhibit `exhibitId` is still the upload `uploadId` (its `upload_id`) and still `pending`.
   * The exhibit keeps its place in the upload order.
   */
  setExhibitText(
    threadId: string,
    exhibitId: string,
    uploadId: string,
    result: ExhibitTextResult,
    log?: LogEntry,
  ): Promise<ExhibitTextWrite>;

  /** Removes every trace of the workflow, its lease included. False when there was none. */
  delete(threadId: string): Promise<boolean>;

  /** Ids of the workflows that have not expired, in no particular order, each once. */
  listActive(): Promise<string[]>;

  /**
   * Ids of the unexpired workflows whose status is `generating`, in no particular order, each once: what the
   * recovery sweep needs. Costs about the number of generating workflows, not of stored ones. With
   * `unleased`, those whose lease a holder still has (unexpired) are left out: what the sweep may take over.
   */
  listGenerating(options?: { unleased?: boolean }): Promise<string[]>;

  /**
   * One page of the unexpired workflows that match `query`, in list order: newest `created_at` first, ties
   * by `thread_id` (domain/document-list.ts). A page starts after `query.after`, so a workflow created
   * while a caller pages through never makes it skip or repeat one; deleted and expired workflows never
   * appear. Each item is what the workflow's head says at the time of the read. On Redis a page reads
   * indexes (no KEYS, no SCAN): its cost does not grow with the number of stored workflows.
   */
  listDocuments(query: DocumentQuery): Promise<DocumentPage>;

  /**
   * Takes the generation lease for `ttlMs` if nobody holds it, it expired, or `token` already holds it.
   * At most one token holds a workflow's lease at a time. False when taken or missing.
   */
  acquireLease(threadId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease to `ttlMs` from now if `token` still holds it (unexpired); false otherwise. */
  renewLease(threadId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `token` holds it (and tells `onLeaseReleased` listeners); otherwise does nothing. */
  releaseLease(threadId: string, token: string): Promise<void>;

  /**
   * Listens for leases given up by their holders (a loop that stopped, a process shutting down), in every
   * process sharing the store, so a `generating` workflow can be continued at once instead of at the next
   * recovery sweep. A lease that expires is not announced (the sweep finds it). Returns the function that
   * stops listening.
   */
  onLeaseReleased(listener: (threadId: string) => void): () => void;

  /**
   * Listens to changes of every workflow, made by any process; returns the function that stops listening.
   * One workflow's changes arrive in version order, each once. `onReady` is called once every change made
   * from then on will be delivered — at once for a single-process store, once Redis has confirmed the
   * subscription (and again after each re-subscription following a lost connection) for a shared one.
   * Changes made before then may be missed: whatever was read before it should be read again.
   */
  subscribe(listener: (change: WorkflowChange) => void, onReady?: () => void): () => void;

  /** Resolves when the store answers; throws `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}

export const MAX_LOGS_KEPT = 100;

/**
 * How many write ids (see "Retried writes" on {@link WorkflowStore}) a workflow remembers: many more than a
 * generation loop, the only caller that retries, has in flight at once (one).
 */
export const WRITE_IDS_KEPT = 16;
