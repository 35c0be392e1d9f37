import type { Exhibit, Section, Workflow } from '../../src/domain/types.js';

/** A completed petition with rich section HTML, for renderer tests that need no HTTP. */
export function sampleWorkflow(overrides: Partial<Workflow> = {}): Workflow {
  const at = '2026-03-14T15:09:26.000Z';
  const section = (id: string, name: string, order: number, html: string): Section => ({
    section_id: id,
    section_name: name,
    section_order: order,
    status: 'completed',
    content_html: html,
    updated_at: at,
    tokens_used: 100,
  });
  return {
    thread_id: '0d5c9a3e-7a1b-4c2d-9e8f-1a2b3c4d5e6f',
    case_id: 'EB1A-2026-0042',
    user_id: 'paralegal-7',
    document_type: 'petition',
    case_facts: { beneficiary_name: 'Łukasz Żółć', field: 'computational linguistics' },
    status: 'completed',
    created_at: '2026-03-14T15:00:00.000Z',
    updated_at: at,
    error_message: null,
    version: 12,
    total_sections: 3,
    completed_sections: 3,
    completed_ms: 0,
    total_tokens: 300,
    prompt_tokens: 0,
    completion_tokens: 0,
    active_ms: 0,
    generating_since: null,
    sections: [
      section(
        'intro',
        'I. INTRODUCTION',
        1,
        '<h2>I. INTRODUCTION</h2><p>This petition is respectfully submitted on behalf of <strong>Łukasz Żółć</strong> (the &quot;Beneficiary&quot;) under 8 C.F.R. &sect; 204.5(h). The Beneficiary collaborates with <em>Пётр Иванов</em> of Moscow State University.</p><p>Second paragraph with <b>bold</b>, <i>italic</i>, <u>underlined</u> and <strong><em>bold italic</em></strong> text.<br>After a line break.</p>',
      ),
      section(
        'awards',
        'III. CRITERION 2.1 - AWARDS',
        2,
        '<h2>III. CRITERION 2.1 - AWARDS</h2><p>The Beneficiary received:</p><ul><li>The <strong>Gold Medal</strong> of the Association for Computational Linguistics, awarded for a body of work on low-resource translation that has been adopted across the field</li><li>Best Paper Award<ul><li>nested item one</li><li>nested item two</li></ul></li></ul><h3>Ranked criteria</h3><ol><li>First ordered item</li><li>Second ordered item</li></ol><blockquote>A quoted passage from an expert letter.</blockquote>',
      ),
      section('memo', 'Closing', 3, '<p>No heading here; the section name is used.</p><div>Reduced to text <span>inside a span</span></div>'),
    ],
    exhibits: [],
    logs: [],
    ...overrides,
  };
}

export function exhibit(id: string, filename: string, overrides: Partial<Exhibit> = {}): Exhibit {
  return {
    exhibit_id: id,
    filename,
    stored_name: `${id}_${filename}`,
    file_path: `/api/exhibits/x/${id}_${filename}`,
    file_size: 48_213,
    mime_type: 'application/pdf',
    uploaded_at: '2026-03-14T16:00:00.000Z',
    ...overrides,
  };
}
