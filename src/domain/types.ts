export const WORKFLOW_STATUSES = ['idle', 'generating', 'paused', 'completed', 'error'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

export const SECTION_STATUSES = ['pending', 'in_progress', 'completed', 'error'] as const;
export type SectionStatus = (typeof SECTION_STATUSES)[number];

export const DOCUMENT_TYPES = ['petition', 'letter', 'memo'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export type LogLevel = 'info' | 'success' | 'warning' | 'error';

export interface LogEntry {
  timestamp: string;
  level: LogLevel;
  message: string;
  agent: string;
}

export interface Section {
  section_id: string;
  section_name: string;
  section_order: number;
  status: SectionStatus;
  content_html: string;
  updated_at: string;
  tokens_used: number;
  error_message?: string;
  /** Writing time of a completed section; internal, feeds `estimated_remaining`. */
  duration_ms?: number;
  /** Model writer: the call's prompt and completion tokens (`tokens_used` is their sum). */
  prompt_tokens?: number;
  completion_tokens?: number;
  /** Exhibit ids the completed section cites ("Exhibit <id>"), in order of first mention. */
  citations?: string[];
  /** Of `citations`, those that were not exhibits of the workflow when the section completed. */
  unknown_citations?: string[];
  /**
   * The workflow version of the write that last changed this section (its creation included), set by the
   * store: two reads of one workflow with the same section version hold the same section.
   */
  version?: number;
}

export interface Exhibit {
  exhibit_id: string;
  /** The client's original file name. */
  filename: string;
  /** Name of the file inside `UPLOAD_DIR/{thread_id}/`. */
  stored_name: string;
  file_path: string;
  file_size: number;
  mime_type: string;
  uploaded_at: string;
  /** Extraction of the exhibit's text (SPEC "Exhibit text"); absent on exhibits stored before it existed. */
  text_status?: ExhibitTextStatus;
  /** Characters of extracted text, when `ready`. */
  text_chars?: number;
  /** Why there is no text, when `failed` or `unsupported`. */
  text_error?: string;
  /**
   * Unique to this upload (a replacement with the same file name gets a new one). Internal, never in the
   * preview: names the exhibit's text file and fences extraction results, so a replaced exhibit's late
   * result is dropped.
   */
  upload_id?: string;
  /** Pages of a PDF (1 for an image), as its text extraction counted them; internal (the PDF's index shows it). */
  page_count?: number;
}

/** The outcome of an exhibit's text extraction, as `WorkflowStore.setExhibitText` records it. */
export interface ExhibitTextResult {
  text_status: Exclude<ExhibitTextStatus, 'pending'>;
  text_chars?: number;
  text_error?: string;
  page_count?: number;
}

export const EXHIBIT_TEXT_STATUSES = ['pending', 'ready', 'failed', 'unsupported'] as const;
export type ExhibitTextStatus = (typeof EXHIBIT_TEXT_STATUSES)[number];

export interface CaseFacts {
  beneficiary_name?: string;
  field?: string;
  awards?: string[];
  memberships?: string[];
  publications?: string[];
}

/**
 * The scalar part of a workflow: enough to answer status checks, compute the preview metadata and decide
 * whether a cached preview is still current, without loading sections, exhibits or logs.
 */
export interface WorkflowHead {
  thread_id: string;
  case_id: string;
  user_id: string;
  document_type: DocumentType;
  case_facts: CaseFacts | null;
  status: WorkflowStatus;
  created_at: string;
  updated_at: string;
  error_message: string | null;
  /** Increases with every change to the workflow (sections, exhibits, logs, status). */
  version: number;
  total_sections: number;
  completed_sections: number;
  /** Sum of `duration_ms` over completed sections. */
  completed_ms: number;
  total_tokens: number;
  /** Sums of the completed sections' `prompt_tokens` and `completion_tokens` (0 for a writer without them). */
  prompt_tokens: number;
  completion_tokens: number;
  /** Milliseconds spent in `generating` before the current generating span. */
  active_ms: number;
  /** Epoch ms at which the current generating span began; null while not generating. */
  generating_since: number | null;
}

export interface Workflow extends WorkflowHead {
  sections: Section[];
  exhibits: Exhibit[];
  /** Oldest first. */
  logs: LogEntry[];
}
