import type { Logger } from 'pino';
import type { PdfDocumentModel } from './document-model.js';
import type { Block } from './html-blocks.js';
import { renderPdf } from './render-pdf.js';

let started = false;

// Printable ASCII and the usual legal punctuation in every face: the glyphs nearly every document uses.
const CHARACTERS = `${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')} \u00a7 \u2014 \u2013 \u201c\u201d \u2019 \u00e9 Łódź Żółć Пётр Иванов`;
const STYLES = [
  { bold: false, italic: false },
  { bold: true, italic: false },
  { bold: false, italic: true },
  { bold: true, italic: true },
];

const SAMPLE: PdfDocumentModel = {
  title: 'Warm-up',
  subtitle: CHARACTERS,
  typeLabel: 'Warm-up',
  caseId: 'warm-up',
  beneficiary: 'Łukasz Żółć',
  field: null,
  completedAt: new Date(0),
  modifiedAt: new Date(0),
  sections: [
    {
      name: 'Warm-up',
      blocks: [
        { kind: 'heading', level: 2, runs: [{ text: 'I. WARM-UP', bold: true, italic: false, underline: false }] },
        // Several pages' worth, so the layout code is compiled hot, not just loaded.
        ...Array.from({ length: 12 }, (): Block[] => [
          { kind: 'paragraph', runs: STYLES.map((style) => ({ ...style, underline: false, text: `${CHARACTERS} ` })) },
          { kind: 'list', ordered: true, items: [[{ kind: 'paragraph', runs: [{ text: CHARACTERS, bold: false, italic: false, underline: true }] }]] },
          { kind: 'heading', level: 3, runs: [{ text: 'Subsection', bold: true, italic: false, underline: false }] },
        ]).flat(),
      ],
    },
  ],
  exhibits: Array.from({ length: 10 }, (_, i) => ({
    exhibit_id: `2.1.${i}`,
    filename: `exhibit-${i}.pdf`,
    stored_name: '',
    file_path: '',
    file_size: 1000 * i,
    mime_type: 'application/pdf',
    uploaded_at: '',
  })),
};

/**
 * Renders a throw-away document once per process, soon after start. The first PDF a process makes pays
 * for parsing four fonts and initialising the shaping tables (several hundred ms); this moves that cost
 * off the first real download.
 */
export function warmUpRenderer(logger: Logger): void {
  if (started) return;
  started = true;
  setTimeout(() => {
    renderPdf(SAMPLE).catch((err: unknown) => logger.warn({ err }, 'pdf renderer warm-up failed'));
  }, 0).unref();
}
