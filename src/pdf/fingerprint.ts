import { createHash } from 'node:crypto';
import type { Workflow } from '../domain/types.js';

/** Bump when the layout changes, so PDFs cached by an older build are rendered again. */
export const RENDERER_VERSION = 2;

/**
 * A hash of everything the PDF shows. A new or replaced exhibit (new `uploaded_at`, size or name), or its
 * text read meanwhile, changes it, which is how the cache notices without the exhibit code having to tell it.
 */
export function contentFingerprint(workflow: Workflow): string {
  const content = {
    v: RENDERER_VERSION,
    type: workflow.document_type,
    case_id: workflow.case_id,
    facts: workflow.case_facts,
    sections: workflow.sections.map((s) => [s.section_id, s.section_name, s.section_order, s.updated_at, s.content_html]),
    exhibits: workflow.exhibits.map((e) => [e.exhibit_id, e.filename, e.mime_type, e.file_size, e.uploaded_at, e.text_status, e.page_count]),
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}
