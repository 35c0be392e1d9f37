import type { Exhibit, ExhibitTextStatus, LogEntry, Section, Workflow, WorkflowStatus } from '../domain/types.js';

export const PREVIEW_LOG_LIMIT = 50;

/** A section as the preview shows it. */
export interface SectionView {
  section_id: string;
  section_name: string;
  section_order: number;
  status: string;
  content_html: string;
  updated_at: string;
  tokens_used: number;
  /** Once completed: the exhibit ids its text cites, and those of them that were not exhibits then. */
  citations?: string[];
  unknown_citations?: string[];
  error_message?: string;
}

/** An exhibit as the preview shows it. */
export interface ExhibitView {
  exhibit_id: string;
  filename: string;
  file_path: string;
  file_size: number;
  mime_type: string;
  uploaded_at: string;
  text_status?: ExhibitTextStatus;
  text_chars?: number;
  text_error?: string;
}

/** Everything of the preview that comes before `metadata`, in the preview's key order. */
export interface PreviewHeadView {
  thread_id: string;
  status: WorkflowStatus;
  case_id: string;
  document_type: string;
  created_at: string;
  error_message?: string;
  sections: SectionView[];
  exhibits: ExhibitView[];
}

export const sectionView = (s: Section): SectionView => ({
  section_id: s.section_id,
  section_name: s.section_name,
  section_order: s.section_order,
  status: s.status,
  content_html: s.content_html,
  updated_at: s.updated_at,
  tokens_used: s.tokens_used,
  ...(s.status === 'completed' && s.citations ? { citations: s.citations, unknown_citations: s.unknown_citations ?? [] } : {}),
  ...(s.error_message ? { error_message: s.error_message } : {}),
});

export const exhibitView = (e: Exhibit): ExhibitView => ({
  exhibit_id: e.exhibit_id,
  filename: e.filename,
  file_path: e.file_path,
  file_size: e.file_size,
  mime_type: e.mime_type,
  uploaded_at: e.uploaded_at,
  ...(e.text_status !== undefined ? { text_status: e.text_status } : {}),
  ...(e.text_chars !== undefined ? { text_chars: e.text_chars } : {}),
  ...(e.text_error !== undefined ? { text_error: e.text_error } : {}),
});

/**
 * The one definition of the preview's shape (internal fields such as `stored_name`, `duration_ms` and the
 * section `version` stay out), shared by the polled preview and the SSE snapshot so the two cannot drift.
 */
export function previewHeadView(wf: Workflow): PreviewHeadView {
  return Object.assign(previewScalars(wf), {
    sections: wf.sections.map(sectionView),
    exhibits: wf.exhibits.map(exhibitView),
  });
}

/** The fields of `previewHeadView` that come before `sections`. */
export const previewScalars = (wf: Workflow): Omit<PreviewHeadView, 'sections' | 'exhibits'> => ({
  thread_id: wf.thread_id,
  status: wf.status,
  case_id: wf.case_id,
  document_type: wf.document_type,
  created_at: wf.created_at,
  ...(wf.error_message ? { error_message: wf.error_message } : {}),
});

export const previewLogs = (wf: Workflow): LogEntry[] => wf.logs.slice(-PREVIEW_LOG_LIMIT);
