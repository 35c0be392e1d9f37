import type { DocumentType, Exhibit, Workflow } from '../domain/types.js';
import { type Block, parseBlocks, runsText } from './html-blocks.js';

/** Everything the PDF shows, derived from a completed workflow; nothing in it depends on the clock. */
export interface PdfDocumentModel {
  title: string;
  subtitle: string | null;
  typeLabel: string;
  caseId: string;
  beneficiary: string | null;
  field: string | null;
  /** When the last section was written: the document's date. */
  completedAt: Date;
  /** The later of `completedAt` and the newest exhibit. */
  modifiedAt: Date;
  sections: Array<{ name: string; blocks: Block[] }>;
  /** In exhibit-number order (`2.1.10` after `2.1.9`). */
  exhibits: Exhibit[];
}

const TITLES: Record<DocumentType, { title: string; subtitle: string | null; label: string }> = {
  petition: {
    title: 'Petition for Classification as an Alien of Extraordinary Ability',
    subtitle: 'Form I-140, Immigrant Petition for Alien Worker \u2014 INA \u00a7 203(b)(1)(A)',
    label: 'Petition (EB-1A)',
  },
  letter: { title: 'Letter in Support of Petition', subtitle: null, label: 'Letter' },
  memo: { title: 'Memorandum', subtitle: null, label: 'Memo' },
};

const normalized = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

export function buildDocumentModel(workflow: Workflow): PdfDocumentModel {
  const titles = TITLES[workflow.document_type];
  const sections = [...workflow.sections]
    .sort((a, b) => a.section_order - b.section_order)
    .map((section) => {
      const blocks = parseBlocks(section.content_html);
      // Writers usually open a section with its own heading; a section without one gets its name.
      const first = blocks[0];
      const headed = first?.kind === 'heading' && normalized(runsText(first.runs)) === normalized(section.section_name);
      const heading: Block = {
        kind: 'heading',
        level: 2,
        runs: [{ text: section.section_name, bold: true, italic: false, underline: false }],
      };
      return { name: section.section_name, blocks: headed ? blocks : [heading, ...blocks] };
    });
  const completedMs = Math.max(Date.parse(workflow.created_at), ...workflow.sections.map((s) => Date.parse(s.updated_at) || 0));
  const newestExhibitMs = Math.max(0, ...workflow.exhibits.map((e) => Date.parse(e.uploaded_at) || 0));
  const facts = workflow.case_facts ?? {};
  return {
    title: titles.title,
    subtitle: titles.subtitle,
    typeLabel: titles.label,
    caseId: workflow.case_id,
    beneficiary: facts.beneficiary_name?.trim() || null,
    field: facts.field?.trim() || null,
    completedAt: new Date(completedMs),
    modifiedAt: new Date(Math.max(completedMs, newestExhibitMs)),
    sections,
    exhibits: [...workflow.exhibits].sort((a, b) =>
      a.exhibit_id.localeCompare(b.exhibit_id, 'en', { numeric: true, sensitivity: 'base' }),
    ),
  };
}
