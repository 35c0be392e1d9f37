import type { DocumentType, Section } from './types.js';

export interface SectionDefinition {
  id: string;
  name: string;
  order: number;
  /** EB-1A criterion number; exhibits whose id starts with `<criterion>.` are cited in this section. */
  criterion?: string;
}

export const DOCUMENT_SECTIONS: Record<DocumentType, readonly SectionDefinition[]> = {
  petition: [
    { id: 'intro', name: 'I. INTRODUCTION', order: 1 },
    { id: 'background', name: 'II. BENEFICIARY BACKGROUND', order: 2 },
    { id: 'awards', name: 'III. CRITERION 2.1 - AWARDS', order: 3, criterion: '2.1' },
    { id: 'membership', name: 'IV. CRITERION 2.2 - MEMBERSHIPS', order: 4, criterion: '2.2' },
    { id: 'publications', name: 'V. CRITERION 2.6 - SCHOLARLY ARTICLES', order: 5, criterion: '2.6' },
  ],
  letter: [
    { id: 'header', name: 'Header', order: 1 },
    { id: 'body', name: 'Body', order: 2 },
    { id: 'closing', name: 'Closing', order: 3 },
  ],
  memo: [{ id: 'memo', name: 'Memorandum', order: 1 }],
};

export function sectionDefinition(type: DocumentType, sectionId: string): SectionDefinition | undefined {
  return DOCUMENT_SECTIONS[type].find((s) => s.id === sectionId);
}

export function initialSections(type: DocumentType, at: string): Section[] {
  return DOCUMENT_SECTIONS[type].map((def) => ({
    section_id: def.id,
    section_name: def.name,
    section_order: def.order,
    status: 'pending',
    content_html: '',
    updated_at: at,
    tokens_used: 0,
  }));
}
