import type { Exhibit } from '../domain/types.js';
import { ensureSpace } from './draw-blocks.js';
import { COLOR, CONTENT_WIDTH, PAGE, SPACE, TYPE } from './layout.js';

type Doc = PDFKit.PDFDocument;

const TYPE_LABELS: Record<string, string> = {
  'application/pdf': 'PDF document',
  'image/png': 'PNG image',
  'image/jpeg': 'JPEG image',
  'image/gif': 'GIF image',
  'image/webp': 'WebP image',
  'image/tiff': 'TIFF image',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word document',
  'text/plain': 'Plain text',
};

/** A reader's name for a detected MIME type; unknown types are shown as they are. */
export const typeLabel = (mime: string) => TYPE_LABELS[mime.split(';')[0]?.trim() ?? ''] ?? mime;

/**
 * What the index says of an exhibit's pages and text: `12 pages` (when the extraction counted them) over
 * `text read`, `text pending` or `text not read`.
 */
export function textNote(exhibit: Exhibit): string {
  const pages = exhibit.page_count === undefined ? '' : `${exhibit.page_count.toLocaleString('en-US')} page${exhibit.page_count === 1 ? '' : 's'}\n`;
  const status = exhibit.text_status;
  const text = status === 'ready' ? 'text read' : status === 'pending' ? 'text pending' : status ? 'text not read' : '—';
  return `${pages}${text}`;
}

/** `1,234 bytes`, `12.5 KB`, `3.4 MB` (binary multiples, as file managers show them). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes.toLocaleString('en-US')} byte${bytes === 1 ? '' : 's'}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const COLUMNS = [
  { title: 'Exhibit', width: 72, align: 'left' as const },
  { title: 'File name', width: CONTENT_WIDTH - 72 - 88 - 60 - 78, align: 'left' as const },
  { title: 'Type', width: 88, align: 'left' as const },
  { title: 'Size', width: 60, align: 'right' as const },
  { title: 'Pages, text', width: 78, align: 'left' as const },
];
const PAD = 5;

function rowHeight(doc: Doc, cells: string[], font: 'body' | 'bold'): number {
  doc.font(font).fontSize(TYPE.tableText);
  return Math.max(...cells.map((text, i) => doc.heightOfString(text, { width: (COLUMNS[i]?.width ?? 0) - 2 * PAD }))) + 2 * PAD;
}

function drawRow(doc: Doc, cells: string[], font: 'body' | 'bold', rule: { color: string; weight: number }): void {
  const height = rowHeight(doc, cells, font);
  const top = doc.y;
  let x = PAGE.margin;
  doc.font(font).fontSize(TYPE.tableText).fillColor(COLOR.text);
  cells.forEach((text, i) => {
    const column = COLUMNS[i];
    if (!column) return;
    doc.text(text, x + PAD, top + PAD, { width: column.width - 2 * PAD, align: column.align });
    x += column.width;
  });
  const bottom = top + height;
  doc.moveTo(PAGE.margin, bottom).lineTo(PAGE.margin + CONTENT_WIDTH, bottom).lineWidth(rule.weight).strokeColor(rule.color).stroke();
  doc.x = PAGE.margin;
  doc.y = bottom;
}

const HEADER = COLUMNS.map((c) => c.title);

/** The index of exhibits: a ruled table that repeats its header row on every page it spans. */
export function drawExhibitTable(doc: Doc, exhibits: Exhibit[]): void {
  const header = () => {
    doc.moveTo(PAGE.margin, doc.y).lineTo(PAGE.margin + CONTENT_WIDTH, doc.y).lineWidth(0.9).strokeColor(COLOR.rule).stroke();
    drawRow(doc, HEADER, 'bold', { color: COLOR.rule, weight: 0.9 });
  };
  ensureSpace(doc, rowHeight(doc, HEADER, 'bold') * 3);
  header();
  for (const exhibit of exhibits) {
    const cells = [exhibit.exhibit_id, exhibit.filename, typeLabel(exhibit.mime_type), formatSize(exhibit.file_size), textNote(exhibit)];
    const height = rowHeight(doc, cells, 'body');
    if (doc.y + height > PAGE.height - PAGE.margin) {
      doc.addPage();
      header();
    }
    drawRow(doc, cells, 'body', { color: COLOR.faintRule, weight: 0.5 });
  }
  doc.y += SPACE.paragraphAfter;
}
