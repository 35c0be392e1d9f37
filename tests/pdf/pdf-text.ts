import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface PdfLine {
  text: string;
  /** Baseline height from the bottom of the page, in points. */
  y: number;
}

export interface PdfPage {
  /** Everything on the page, whitespace collapsed. */
  text: string;
  /** Text between the margins only (no running header or footer), whitespace collapsed. */
  body: string;
  lines: PdfLine[];
}

// Body text sits between the 1-inch margins; the running header and the footer are drawn outside them.
const BODY_MIN_Y = 60;
const BODY_MAX_Y = 730;

export const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Extracts the text of every page with pdfjs, line by line, as a reader's copy-paste would see it. */
export async function readPdf(bytes: Uint8Array): Promise<{ pages: PdfPage[]; info: Record<string, unknown> }> {
  const doc = await getDocument({ data: new Uint8Array(bytes), verbosity: 0, isEvalSupported: false }).promise;
  const pages: PdfPage[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    // Raw text, as a viewer copies it: no ligature normalisation that could hide a broken text layer.
    const content = await page.getTextContent({ disableNormalization: true });
    const lines: PdfLine[] = [];
    let current: PdfLine | null = null;
    for (const item of content.items) {
      if (!('str' in item)) continue;
      const y = Math.round(item.transform[5] as number);
      if (!current || Math.abs(current.y - y) > 2) {
        current = { text: '', y };
        lines.push(current);
      }
      current.text += item.str;
    }
    for (const line of lines) line.text = squash(line.text);
    const text = squash(lines.map((l) => l.text).join(' '));
    const body = squash(lines.filter((l) => l.y > BODY_MIN_Y && l.y < BODY_MAX_Y).map((l) => l.text).join(' '));
    pages.push({ text, body, lines: lines.filter((l) => l.text) });
  }
  const meta = await doc.getMetadata();
  await doc.destroy();
  return { pages, info: (meta.info ?? {}) as Record<string, unknown> };
}
