import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDeflate } from 'node:zlib';
import PDFDocument from 'pdfkit';
import { probeOcrTools } from '../../../src/exhibits/text/tools.js';
import { pngChunk, zip } from '../fixtures.js';

/**
 * Real exhibit files for the text tests, made in the test: PDFs with a text layer (pdfkit), scans (that PDF
 * rendered by pdftoppm and embedded as an image only), images of printed words, Word documents, and hostile
 * files (decompression bombs, an endlessly nested PDF).
 */

const run = promisify(execFile);

/**
 * Whether the OCR tests run: with tesseract (English) and pdftoppm installed — and always in CI (CI=true),
 * where a missing tool must fail them rather than let the run pass without them.
 */
const inCi = process.env.CI === 'true';
const found = await probeOcrTools();
export const tesseractTestsRun = found.tesseract || inCi;
export const ocrTestsRun = (found.tesseract && found.pdftoppm) || inCi;
if (!ocrTestsRun) console.warn('notice: OCR tests skipped: tesseract (with tesseract-ocr-eng) or pdftoppm is not installed');

/** A PDF with one page per entry, each page's text in Helvetica at `fontSize`. */
export function textPdf(pages: string[], fontSize = 12): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ autoFirstPage: false, compress: true });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    for (const text of pages) doc.addPage().font('Helvetica').fontSize(fontSize).text(text);
    doc.end();
  });
}

/** Each page of a PDF as a PNG rendered by pdftoppm at `dpi`. */
export async function renderPages(pdf: Buffer, dpi = 150): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dm-text-render-'));
  try {
    await writeFile(path.join(dir, 'in.pdf'), pdf);
    await run('pdftoppm', ['-r', String(dpi), '-gray', '-png', path.join(dir, 'in.pdf'), path.join(dir, 'page')]);
    const { readdir } = await import('node:fs/promises');
    const names = (await readdir(dir)).filter((n) => n.endsWith('.png')).sort();
    return Promise.all(names.map((n) => readFile(path.join(dir, n))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A PNG of printed words, large enough for OCR to read. */
export async function wordsPng(text: string): Promise<Buffer> {
  const [png] = await renderPages(await textPdf([text], 24));
  return png!;
}

/** A scanned-style PDF: every page an image of printed words, with no text layer. */
export async function scannedPdf(pages: string[]): Promise<Buffer> {
  const images = await renderPages(await textPdf(pages, 16));
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ autoFirstPage: false });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    for (const image of images) doc.addPage({ margin: 0 }).image(image, 0, 0, { fit: [612, 792] });
    doc.end();
  });
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Word document with one paragraph per entry (the parts Word, file-type and mammoth need). */
export function docx(paragraphs: string[]): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${xmlText(p)}</w:t></w:r></w:p>`).join('');
  return zip([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    ],
    [
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    ],
    ['word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`],
  ]);
}

/** zlib-compressed `total` bytes of `fill`, made a megabyte at a time (fast, and never held whole). */
async function deflated(total: number, fill: number, rowBytes = 0): Promise<Buffer> {
  const deflate = createDeflate({ level: 1 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => deflate.on('end', r));
  // With rows, each starts with a PNG filter byte (0: none), which `fill` = 0 already is.
  const chunkBytes = rowBytes > 0 ? rowBytes * Math.max(1, Math.floor((1 << 20) / rowBytes)) : 1 << 20;
  const chunk = Buffer.alloc(chunkBytes, fill);
  for (let done = 0; done < total; done += chunk.length) {
    const part = total - done < chunk.length ? chunk.subarray(0, total - done) : chunk;
    if (!deflate.write(part)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await ended;
  return Buffer.concat(out);
}

/** A PDF from its objects (1-based, in order), with a correct cross-reference table. */
function assemblePdf(objects: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const part = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    parts.push(part);
    length += part.length;
  });
  const xref = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  parts.push(
    Buffer.from(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`),
  );
  return Buffer.concat(parts);
}

const pageObjects = (resources: string) => [
  Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
  Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
  Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources ${resources} /Contents 4 0 R >>`),
];

/** A one-page PDF whose content stream is a FlateDecode stream inflating to `megabytes` MB of spaces. */
export async function flateBombPdf(megabytes: number): Promise<Buffer> {
  const body = await deflated(megabytes * 1024 * 1024, 0x20);
  return assemblePdf([
    ...pageObjects('<< >>'),
    Buffer.concat([Buffer.from(`<< /Length ${body.length} /Filter /FlateDecode >>\nstream\n`), body, Buffer.from('\nendstream')]),
  ]);
}

/** A one-page PDF whose resources nest `depth` dictionaries and whose content nests `depth` arrays. */
export function nestedPdf(depth = 100_000): Buffer {
  const content = `BT /F1 12 Tf 72 700 Td ${'['.repeat(depth)}${']'.repeat(depth)} TJ ET`;
  return assemblePdf([
    ...pageObjects(`${'<< /A '.repeat(depth)}1${' >>'.repeat(depth)}`),
    Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`),
  ]);
}

/** A black `side`×`side` 8-bit grey PNG: a few megabytes that decode to side² bytes. */
export async function pngBomb(side: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const idat = await deflated((side + 1) * side, 0, side + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A black `side`×`side` 8-bit grey TIFF, one Deflate-compressed strip: a few megabytes that decode to side² bytes. */
export async function tiffBomb(side: number): Promise<Buffer> {
  const strip = await deflated(side * side, 0);
  // [tag, type (3 short, 4 long), value]: width, height, bits per sample, compression (8: Deflate),
  // photometric (1: black is zero), strip offset, samples per pixel, rows per strip, strip byte count.
  const entries: Array<[number, number, number]> = [
    [256, 4, side], [257, 4, side], [258, 3, 8], [259, 3, 8], [262, 3, 1], [273, 4, 0], [277, 3, 1], [278, 4, side], [279, 4, strip.length],
  ];
  const dataOffset = 8 + 2 + entries.length * 12 + 4;
  const head = Buffer.alloc(dataOffset);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(1, at + 4);
    const v = tag === 273 ? dataOffset : value;
    if (type === 3) head.writeUInt16LE(v, at + 8);
    else head.writeUInt32LE(v, at + 8);
  });
  return Buffer.concat([head, strip]);
}
