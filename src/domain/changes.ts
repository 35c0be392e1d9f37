import type { LogEntry, Section, SectionStatus, WorkflowHead, WorkflowStatus } from './types.js';

/**
 * The changes a caller asks the store to make, as values: what every layer shares about a write (the store
 * applies them, the state rules say what they do, the runner builds them).
 */

/** What `create` needs; the store fills in `version`, the aggregates and the timing fields. */
export interface NewWorkflow {
  head: Pick<WorkflowHead, 'thread_id' | 'case_id' | 'user_id' | 'document_type' | 'case_facts' | 'status' | 'created_at'>;
  /** In any order: the store keeps them by `section_order`. */
  sections: Section[];
  /** Oldest first; only the newest `MAX_LOGS_KEPT` are kept. */
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
  /** The workflow's `error_message` with `to: 'error'` (a default when absent). `to: 'generating'` clears it. */
  errorMessage?: string;
  /** Names the transition across its retries: a second copy is not applied (WorkflowStore, "Retried writes"). */
  writeId?: string;
}

/**
 * A change to one section. Fields left out keep their value, except `error_message`: any status but `error`
 * clears it (a section restarted as `in_progress` with `content_html: ''` starts clean).
 */
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
