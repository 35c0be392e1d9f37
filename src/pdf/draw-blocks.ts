import { faceOf } from './fonts.js';
import { type Block, LINE_BREAK, type Run, runsText } from './html-blocks.js';
import { COLOR, CONTENT_BOTTOM, SPACE, TYPE } from './layout.js';

type Doc = PDFKit.PDFDocument;

/** Where a run of blocks goes: its left edge, its width and how deep in lists it sits. */
interface Frame {
  x: number;
  width: number;
  depth: number;
  size: number;
  /** Space after a paragraph: tighter inside list items. */
  gap: number;
}

const BULLETS = ['\u2022', '\u25e6', '\u2013'];
const MIN_LIST_WIDTH = 240;

const lineHeight = (doc: Doc, size: number) => {
  doc.font('body').fontSize(size);
  return doc.currentLineHeight(true) + TYPE.bodyLineGap;
};

/** Starts a new page unless `height` points still fit above the bottom margin. */
export function ensureSpace(doc: Doc, height: number): void {
  if (doc.y + height > CONTENT_BOTTOM) doc.addPage();
}

/**
 * Height of the first `lines` lines of a paragraph (less if it is shorter), in the body face. Measuring
 * lays the text out, so text too long to fit in that many lines even if every character were as narrow as
 * an "i" skips the measurement.
 */
function leadHeight(doc: Doc, runs: Run[], width: number, size: number, lines: number): number {
  const full = lineHeight(doc, size) * lines;
  const text = runsText(runs);
  if (text.length > (width / (size * 0.25)) * lines) return full;
  doc.font('body').fontSize(size);
  return Math.min(full, doc.heightOfString(text, { width, lineGap: TYPE.bodyLineGap }));
}

/**
 * The height that must fit for block `i` to start on this page: a paragraph's first lines, or a heading
 * together with what follows it (recursively, so a heading directly over a subheading moves with both).
 */
function startHeight(doc: Doc, blocks: Block[], i: number, frame: Frame): number {
  const block = blocks[i];
  if (!block) return 0;
  if (block.kind === 'paragraph') return leadHeight(doc, block.runs, frame.width, frame.size, SPACE.keepWithNextLines);
  if (block.kind === 'heading') return SPACE.headingBefore[block.level] + headingHeight(doc, block, frame) + startHeight(doc, blocks, i + 1, frame);
  return lineHeight(doc, frame.size) * SPACE.keepWithNextLines;
}

function headingHeight(doc: Doc, block: Extract<Block, { kind: 'heading' }>, frame: Frame): number {
  doc.font('bold').fontSize(TYPE.heading[block.level]);
  return doc.heightOfString(runsText(block.runs), { width: frame.width }) + SPACE.headingAfter[block.level];
}

/** Splits runs at line breaks; each line group is set as its own paragraph without a gap. */
function lineGroups(runs: Run[]): Run[][] {
  const groups: Run[][] = [[]];
  for (const run of runs) {
    if (run.text === LINE_BREAK) groups.push([]);
    else groups[groups.length - 1]?.push({ ...run });
  }
  return groups.filter((g) => g.length > 0);
}

/**
 * Writes styled runs as flowing text (pdfkit `continued` fragments), wrapping across pages. pdfkit drops a
 * space at the start of a continued fragment, so spaces move to the end of the fragment before them; a
 * line break starts a fresh paragraph, so the line before it is never stretched by justification.
 */
function writeRuns(doc: Doc, runs: Run[], frame: Frame, align: 'justify' | 'left'): void {
  doc.fillColor(COLOR.text);
  for (const group of lineGroups(runs)) {
    for (let i = 1; i < group.length; i++) {
      const run = group[i];
      const before = group[i - 1];
      if (run && before && run.text.startsWith(' ')) {
        run.text = run.text.slice(1);
        if (!before.text.endsWith(' ')) before.text += ' ';
      }
    }
    const pieces = group.filter((run) => run.text.length > 0);
    pieces.forEach((run, i) => {
      const options = { continued: i < pieces.length - 1, underline: run.underline, align };
      doc.font(faceOf(run)).fontSize(frame.size);
      if (i === 0) doc.text(run.text, frame.x, doc.y, { ...options, width: frame.width, lineGap: TYPE.bodyLineGap });
      else doc.text(run.text, options);
    });
  }
}

function drawParagraph(doc: Doc, runs: Run[], frame: Frame): void {
  ensureSpace(doc, leadHeight(doc, runs, frame.width, frame.size, SPACE.orphanLines));
  writeRuns(doc, runs, frame, 'left');
  doc.y += frame.gap;
}

function drawHeading(doc: Doc, blocks: Block[], i: number, frame: Frame): void {
  const block = blocks[i];
  if (block?.kind !== 'heading') return;
  const atTop = doc.y <= doc.page.margins.top + 1;
  if (!atTop) doc.y += SPACE.headingBefore[block.level];
  // The heading, plus whatever must start with it, fits on this page or moves to the next.
  ensureSpace(doc, headingHeight(doc, block, frame) + startHeight(doc, blocks, i + 1, frame));
  const size = TYPE.heading[block.level];
  doc
    .font(block.level === 4 ? 'boldItalic' : 'bold')
    .fontSize(size)
    .fillColor(COLOR.text)
    .text(runsText(block.runs), frame.x, doc.y, { width: frame.width, align: 'left' });
  doc.y += SPACE.headingAfter[block.level];
}

function drawList(doc: Doc, block: Extract<Block, { kind: 'list' }>, frame: Frame): void {
  const indent = frame.depth === 0 ? SPACE.listIndent : 0;
  // Deeply nested lists stop indenting once the text column would get too narrow to read.
  const nest = frame.width > MIN_LIST_WIDTH;
  doc.font('body').fontSize(frame.size);
  const column = block.ordered
    ? doc.widthOfString(`${block.items.length}.`) + 8
    : SPACE.bulletColumn;
  const left = nest ? frame.x + indent : frame.x - column;
  const inner: Frame = {
    x: left + column,
    width: nest ? frame.width - indent - column : frame.width,
    depth: frame.depth + 1,
    size: frame.size,
    gap: SPACE.listItemAfter,
  };
  block.items.forEach((item, i) => {
    const marker = block.ordered ? `${i + 1}.` : (BULLETS[frame.depth % BULLETS.length] ?? '\u2022');
    // The marker and the first line of its item always share a page.
    ensureSpace(doc, lineHeight(doc, frame.size) * SPACE.orphanLines);
    const y = doc.y;
    doc
      .font('body')
      .fontSize(frame.size)
      .fillColor(COLOR.text)
      .text(marker, left, y, { width: column - 6, align: block.ordered ? 'right' : 'left', lineBreak: false });
    doc.y = y;
    drawBlocks(doc, item, inner);
  });
  doc.y += frame.depth === 0 ? SPACE.paragraphAfter - SPACE.listItemAfter : 0;
}

/** Draws blocks top to bottom from `doc.y` inside `frame`, adding pages as needed. */
export function drawBlocks(doc: Doc, blocks: Block[], frame: Frame): void {
  blocks.forEach((block, i) => {
    if (block.kind === 'heading') drawHeading(doc, blocks, i, frame);
    else if (block.kind === 'paragraph') drawParagraph(doc, block.runs, frame);
    else if (block.kind === 'list') drawList(doc, block, frame);
    else {
      const inset = SPACE.quoteIndent;
      drawBlocks(doc, block.blocks, { ...frame, x: frame.x + inset, width: frame.width - 2 * inset, size: TYPE.quote });
    }
  });
}

export type { Frame };
