import type {
  Exhibit,
  LogEntry,
  Section,
  SectionStatus,
  Workflow,
  WorkflowHead,
  WorkflowStatus,
} from '../domain/types.js';

/** What `create` needs; the store fills in `version`, the aggregates and the timing fields. */
export interface NewWorkflow {
  head: Pick<
    WorkflowHead,
    'thread_id' | 'case_id' | 'user_id' | 'document_type' | 'case_facts' | 'status' | 'created_at'
  >;
  sections: Section[];
  logs: LogEntry[];
}

/** An atomic compare-and-set of the workflow status. */
export interface Transition {
  /** The change happens only when the current status is one of these. */
  from: readonly WorkflowStatus[];
  to: WorkflowStatus;
  /** Epoch ms of the change; drives `active_ms` / `generating_since`. */
  at: number;
  log?: LogEntry;
  /** Set with `to: 'error'`. */
  errorMessage?: string;
}

export type TransitionResult =
  | { ok: true; head: WorkflowHead }
  | { ok: false; /** null: the workflow does not exist. */ current: WorkflowStatus | null };

export interface SectionPatch {
  status: SectionStatus;
  updated_at: string;
  content_html?: string;
  tokens_used?: number;
  error_message?: string;
  duration_ms?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  citations?: string[];
  unknown_citations?: string[];
}

export interface SectionWriteOptions {
  /** The lease the writing loop holds; the write is refused unless it is still the current lease. */
  leaseToken: string;
  log?: LogEntry;
  /**
   * Extends the lease to this long from now, as `renewLease` would: a loop that writes sections more often
   * than its renewal period never needs a renewal call of its own.
   */
  leaseTtlMs?: number;
  /**
   * In the same change, and only while the workflow is still `generating`, also this patch to another section
   * (with its log line): a loop completes one section and starts the next in one write, so a pause made
   * before the write still stops generation at that boundary. The whole write is refused when the section
   * does not exist.
   */
  next?: { sectionId: string; patch: SectionPatch; log?: LogEntry };
}

export interface PutExhibitResult {
  /** The exhibit with the same id that this one replaced, if any. */
  replaced: Exhibit | null;
}

export type WorkflowChangeKind = 'created' | 'section' | 'status' | 'log' | 'exhibit' | 'deleted';

/** Emitted after every committed change, in every process (Redis: through pub/sub). */
export interface WorkflowChange {
  thread_id: string;
  version: number;
  kind: WorkflowChangeKind;
}

/**
 * The only way code reaches workflow state. Every method is atomic on its own: concurrent calls on one
 * workflow never lose each other's changes. Every write bumps `version`, refreshes `updated_at` and the
 * workflow's expiry (`WORKFLOW_TTL_SECONDS` after its last change), and emits a {@link WorkflowChange}.
 *
 * Methods that address a workflow answer `null` / `false` when it does not exist (or has expired); they
 * throw `StoreUnavailableError` when the backing service cannot be reached.
 */
export interface WorkflowStore {
  /** Stores a new workflow. The thread id must be new. */
  create(workflow: NewWorkflow): Promise<void>;

  /** The scalar state only: cheap, used on every poll. */
  getHead(threadId: string): Promise<WorkflowHead | null>;

  /** The whole state; `logLimit` keeps only the newest N logs (default: all that are kept, at most 100). */
  get(threadId: string, options?: { logLimit?: number }): Promise<Workflow | null>;

  /**
   * In one read, the head, and the whole state (as `get`) unless the version is still `knownVersion`: what a
   * reader that keeps what it built from one version asks on every poll (the preview). Null when the workflow
   * does not exist.
   */
  getIfChanged(
    threadId: string,
    knownVersion: number,
    options?: { logLimit?: number },
  ): Promise<{ head: WorkflowHead; workflow: Workflow | null } | null>;

  /** Compare-and-set of the status, with its log line, in one atomic step. */
  transition(threadId: string, transition: Transition): Promise<TransitionResult>;

  /**
   * Changes one section (and appends the log line) if `leaseToken` holds the workflow's lease. A section
   * that becomes `completed` adds its tokens and duration to the head's aggregates once.
   * Answers the workflow's version after the write — one more than the version the writer last saw means
   * nobody else wrote meanwhile, so the writer can apply the change to its own copy (`applySectionPatch`)
   * instead of reading the workflow again — or null when the workflow, the section or the lease is gone.
   * With `options.next`, one change all the same (one version, one change message): when the answer is one
   * more than the writer last saw, the next section was started too.
   */
  updateSection(threadId: string, sectionId: string, patch: SectionPatch, options: SectionWriteOptions): Promise<number | null>;

  /** Appends a log line; only the newest 100 are kept. */
  appendLog(threadId: string, entry: LogEntry): Promise<boolean>;

  /** Adds or replaces (same `exhibit_id`) an exhibit, with its log line. Null when the workflow is gone. */
  putExhibit(threadId: string, exhibit: Exhibit, log?: LogEntry): Promise<PutExhibitResult | null>;

  /** Removes every trace of the workflow. False when there was none. */
  delete(threadId: string): Promise<boolean>;

  /** Ids of the workflows that have not expired, in no particular order. */
  listActive(): Promise<string[]>;

  /**
   * Ids of the unexpired workflows whose status is `generating`, in no particular order: what the recovery
   * sweep needs. Costs the number of generating workflows, not of stored ones (completed workflows stay
   * for the TTL and would otherwise make every sweep read them all). Ids for which `skip` answers true are
   * left out without being looked at: the caller's own running loops, which need no takeover — at 10,000
   * loops, checking their status every sweep was 2,000 Redis commands a second (bench scenario 4).
   * With `unleased`, those whose generation lease a live holder has (not expired) are left out too: what the
   * sweep can take over. Without it, a process beside another read each of its generating workflows and
   * started a loop for each only to find the lease taken: six Redis commands per workflow per sweep.
   */
  listGenerating(options?: { skip?: (threadId: string) => boolean; unleased?: boolean }): Promise<string[]>;

  /** Takes the generation lease if nobody holds it (or it expired). */
  acquireLease(threadId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease if `token` still holds it. */
  renewLease(threadId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `token` holds it. */
  releaseLease(threadId: string, token: string): Promise<void>;

  /**
   * Listens for leases given up by their holders (a loop that stopped, a process shutting down), in every
   * process sharing the store, so a `generating` workflow can be continued at once instead of at the next
   * recovery sweep. Returns the function that stops listening.
   */
  onLeaseReleased(listener: (threadId: string) => void): () => void;

  /**
   * Listens to changes of every workflow; returns the function that stops listening. `onReady` is called once
   * every change made from then on will be delivered — at once for a single-process store, once Redis has
   * confirmed the subscription (and again after each re-subscription following a lost connection) for a
   * shared one. Whatever was read before it may have missed a change: read again then.
   */
  subscribe(listener: (change: WorkflowChange) => void, onReady?: () => void): () => void;

  /** Resolves when the store answers; throws `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}

export const MAX_LOGS_KEPT = 100;
