import { computeMetadata, type MetadataSettings, type PreviewMetadata } from '../workflow/metadata.js';
import { PREVIEW_LOG_LIMIT } from '../workflow/preview.js';
import type { LogEntry, Workflow, WorkflowStatus } from '../workflow/types.js';

/** A section as the preview shows it. */
export interface SectionView {
  section_id: string;
  section_name: string;
  section_order: number;
  status: string;
  content_html: string;
  updated_at: string;
  tokens_used: number;
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
}

/**
 * A workflow in exactly the shape of `GET /api/document/preview/{id}` (the SSE `snapshot` event), plus the
 * store `version` it was read at, which is kept out of the JSON sent to clients (it travels as the event id).
 */
export interface WorkflowView {
  version: number;
  body: {
    thread_id: string;
    status: WorkflowStatus;
    case_id: string;
    document_type: string;
    created_at: string;
    error_message?: string;
    sections: SectionView[];
    exhibits: ExhibitView[];
    metadata: PreviewMetadata;
    logs: LogEntry[];
  };
}

/** Builds the preview-shaped view; key order follows the preview so snapshots and polls look alike. */
export function toView(wf: Workflow, now: number, settings: MetadataSettings): WorkflowView {
  return {
    version: wf.version,
    body: {
      thread_id: wf.thread_id,
      status: wf.status,
      case_id: wf.case_id,
      document_type: wf.document_type,
      created_at: wf.created_at,
      ...(wf.error_message ? { error_message: wf.error_message } : {}),
      sections: wf.sections.map((s) => ({
        section_id: s.section_id,
        section_name: s.section_name,
        section_order: s.section_order,
        status: s.status,
        content_html: s.content_html,
        updated_at: s.updated_at,
        tokens_used: s.tokens_used,
        ...(s.error_message ? { error_message: s.error_message } : {}),
      })),
      exhibits: wf.exhibits.map((e) => ({
        exhibit_id: e.exhibit_id,
        filename: e.filename,
        file_path: e.file_path,
        file_size: e.file_size,
        mime_type: e.mime_type,
        uploaded_at: e.uploaded_at,
      })),
      metadata: computeMetadata(wf, now, settings),
      logs: wf.logs.slice(-PREVIEW_LOG_LIMIT),
    },
  };
}

export const isFinished = (status: WorkflowStatus) => status === 'completed' || status === 'error';
