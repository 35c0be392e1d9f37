import type { Logger } from 'pino';
import type { PdfDocumentModel } from './document-model.js';
import { renderPdf } from './render-pdf.js';

let started = false;

const SAMPLE: PdfDocumentModel = {
  title: 'Warm-up',
  subtitle: 'Łódź Пётр § \u2014',
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
        {
          kind: 'paragraph',
          runs: [
            { text: 'The quick brown fox, Пётр Иванов, ', bold: false, italic: false, underline: false },
            { text: 'jumps ', bold: true, italic: false, underline: false },
            { text: 'over ', bold: false, italic: true, underline: false },
            { text: 'the lazy dog.', bold: true, italic: true, underline: true },
          ],
        },
      ],
    },
  ],
  exhibits: [{ exhibit_id: '1', filename: 'a.pdf', stored_name: '1_a.pdf', file_path: '', file_size: 1, mime_type: 'application/pdf', uploaded_at: '' }],
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
