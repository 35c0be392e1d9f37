import PDFDocument from 'pdfkit';
import type { PdfDocumentModel } from './document-model.js';
import { drawBlocks, ensureSpace } from './draw-blocks.js';
import { drawExhibitTable } from './exhibit-table.js';
import { documentFonts, FONT_FACES } from './fonts.js';
import { COLOR, CONTENT_WIDTH, PAGE, SPACE, TYPE } from './layout.js';

type Doc = PDFKit.PDFDocument;

const DATE_FORMAT = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });

function drawTitleBlock(doc: Doc, model: PdfDocumentModel): void {
  doc.font('bold').fontSize(TYPE.title).fillColor(COLOR.text);
  doc.text(model.title.toUpperCase(), PAGE.margin, PAGE.margin, { width: CONTENT_WIDTH, align: 'center', characterSpacing: 0.4 });
  if (model.subtitle) {
    doc.moveDown(0.3);
    doc.font('italic').fontSize(TYPE.subtitle).fillColor(COLOR.muted);
    doc.text(model.subtitle, { width: CONTENT_WIDTH, align: 'center' });
  }
  doc.y += 20;

  const rows: Array<[string, string]> = [
    ['Document type', model.typeLabel],
    ['Case ID', model.caseId],
    ...(model.beneficiary ? [['Beneficiary', model.beneficiary] as [string, string]] : []),
    ...(model.field ? [['Field', model.field] as [string, string]] : []),
    ['Date', DATE_FORMAT.format(model.completedAt)],
  ];
  const labelWidth = 110;
  const left = PAGE.margin + 36;
  for (const [label, value] of rows) {
    const y = doc.y;
    doc.font('bold').fontSize(TYPE.small + 0.5).fillColor(COLOR.muted);
    doc.text(`${label}:`, left, y + 1, { width: labelWidth, lineBreak: false });
    doc.font('body').fontSize(TYPE.body).fillColor(COLOR.text);
    doc.text(value, left + labelWidth, y, { width: CONTENT_WIDTH - 72 - labelWidth });
    doc.y += 3;
  }
  doc.y += 12;
  // A double rule closes the caption, as on a court filing.
  const ruleY = doc.y;
  doc.moveTo(PAGE.margin, ruleY).lineTo(PAGE.margin + CONTENT_WIDTH, ruleY).lineWidth(1.2).strokeColor(COLOR.rule).stroke();
  doc.moveTo(PAGE.margin, ruleY + 2.5).lineTo(PAGE.margin + CONTENT_WIDTH, ruleY + 2.5).lineWidth(0.4).stroke();
  doc.x = PAGE.margin;
  doc.y = ruleY + 22;
}

/** Running header (from page 2) and "Page N of M" footer, drawn once every page exists. */
function drawPageFurniture(doc: Doc, model: PdfDocumentModel): void {
  const { start, count } = doc.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    doc.switchToPage(i);
    // Text in the margins must not trigger pdfkit's automatic page break.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font('body').fontSize(TYPE.small - 0.5).fillColor(COLOR.muted);
    if (i > start) {
      const y = PAGE.margin - 30;
      doc.text(`Case ${model.caseId}`, PAGE.margin, y, { width: CONTENT_WIDTH / 2, lineBreak: false });
      doc.text(model.typeLabel, PAGE.margin + CONTENT_WIDTH / 2, y, { width: CONTENT_WIDTH / 2, align: 'right', lineBreak: false });
      doc.moveTo(PAGE.margin, y + 13).lineTo(PAGE.margin + CONTENT_WIDTH, y + 13).lineWidth(0.4).strokeColor(COLOR.faintRule).stroke();
    }
    doc.text(`Page ${i - start + 1} of ${count}`, PAGE.margin, PAGE.height - PAGE.margin + 30, {
      width: CONTENT_WIDTH,
      align: 'center',
      lineBreak: false,
    });
    doc.page.margins.bottom = bottom;
  }
}

/** Hooks for callers that want to see inside a render (tests, metrics). */
export interface RenderStats {
  pages: number;
}

/**
 * Renders the document to PDF bytes. Deterministic: the same model gives the same bytes (dates and the
 * file id come from the model, never the clock), so a re-render after a cache loss is byte-identical.
 */
export function renderPdf(model: PdfDocumentModel): Promise<{ bytes: Buffer; stats: RenderStats }> {
  const doc = new PDFDocument({
    size: PAGE.size,
    margin: PAGE.margin,
    bufferPages: true,
    autoFirstPage: true,
    displayTitle: true,
    lang: 'en-US',
    info: {
      Title: `${model.title} \u2014 Case ${model.caseId}`,
      Subject: model.typeLabel,
      Keywords: `case ${model.caseId}`,
      Creator: 'Document Monitor API',
      Producer: 'Document Monitor API (PDFKit)',
      CreationDate: model.completedAt,
      ModDate: model.modifiedAt,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const fonts = documentFonts();
  for (const face of FONT_FACES) doc.registerFont(face, fonts[face]);

  drawTitleBlock(doc, model);
  const frame = { x: PAGE.margin, width: CONTENT_WIDTH, depth: 0, size: TYPE.body, gap: SPACE.paragraphAfter };
  for (const section of model.sections) drawBlocks(doc, section.blocks, frame);

  if (model.exhibits.length) {
    doc.addPage();
    drawBlocks(doc, [{ kind: 'heading', level: 2, runs: [{ text: 'INDEX OF EXHIBITS', bold: true, italic: false, underline: false }] }], frame);
    ensureSpace(doc, 40);
    drawExhibitTable(doc, model.exhibits);
  }

  const pages = doc.bufferedPageRange().count;
  drawPageFurniture(doc, model);
  doc.end();
  return done.then((bytes) => ({ bytes, stats: { pages } }));
}
