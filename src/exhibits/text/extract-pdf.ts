import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem, TextMarkedContent } from 'pdfjs-dist/types/src/display/api.js';
import { cleanText, truncate } from './clean-text.js';
import type { ExtractedText, ExtractRequest } from './protocol.js';
import { ocr, renderPage, toolLimits } from './run-tool.js';

// Character maps let pdfjs turn the glyphs of CJK fonts into text; the package ships them.
const PDFJS_DIR = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** A page whose text layer has fewer letters and digits than this is taken for a scan and read by OCR. */
const MIN_LAYER_CHARS = 16;

const countWordChars = (text: string) => text.match(/[\p{L}\p{N}]/gu)?.length ?? 0;

function pageText(items: Array<TextItem | TextMarkedContent>): string {
  let text = '';
  for (const item of items) if ('str' in item) text += item.hasEOL ? `${item.str}\n` : item.str;
  return cleanText(text);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * A PDF's text, page by page: the text layer where there is one (pdfjs), else the page rendered by
 * pdftoppm and read by tesseract — at most `maxOcrPages` pages, and none started after the deadline.
 * Reading stops once `maxChars` characters are there. A page that cannot be read by OCR is left out with a
 * note; when nothing at all could be read, the first such error fails the extraction.
 */
export async function extractPdf(request: ExtractRequest): Promise<ExtractedText> {
  const { file, maxChars, maxOcrPages, deadline, tools } = request;
  const doc = await getDocument({
    data: new Uint8Array(await readFile(file)),
    cMapUrl: `${path.join(PDFJS_DIR, 'cmaps')}/`,
    cMapPacked: true,
    standardFontDataUrl: `${path.join(PDFJS_DIR, 'standard_fonts')}/`,
    isEvalSupported: false,
    disableFontFace: true,
    verbosity: 0,
  }).promise;
  try {
    const canOcr = tools.tesseract && tools.pdftoppm;
    const parts: string[] = [];
    let chars = 0;
    let ocrPages = 0;
    let page = 1;
    const withoutOcr: number[] = [];
    const ocrErrors: string[] = [];
    let timeUp = false;
    for (; page <= doc.numPages && chars < maxChars; page++) {
      if (Date.now() >= deadline) {
        timeUp = true;
        break;
      }
      const pdfPage = await doc.getPage(page);
      let text = pageText((await pdfPage.getTextContent()).items);
      pdfPage.cleanup();
      if (countWordChars(text) < MIN_LAYER_CHARS) {
        if (!canOcr || ocrPages >= maxOcrPages) withoutOcr.push(page);
        else {
          ocrPages++;
          try {
            const image = await renderPage(file, page, toolLimits(request));
            const read = cleanText(await ocr({ png: image }, toolLimits(request), maxChars));
            if (countWordChars(read) > countWordChars(text)) text = read;
          } catch (err) {
            ocrErrors.push(`page ${page}: ${(err as Error).message}`);
          }
        }
      }
      if (text) {
        parts.push(text);
        chars += text.length + 2;
      }
    }
    const notes: string[] = [];
    const unread = doc.numPages - page + 1;
    if (unread > 0) notes.push(`${plural(unread, 'page')} not read (${timeUp ? 'time limit' : 'character limit'})`);
    if (withoutOcr.length) {
      notes.push(`${plural(withoutOcr.length, 'page')} without a text layer not read (${canOcr ? 'OCR page limit' : 'OCR not available'})`);
    }
    if (ocrErrors.length) notes.push(`OCR failed on ${plural(ocrErrors.length, 'page')} (${ocrErrors[0]})`);
    const text = truncate(parts.join('\n\n'), maxChars);
    if (!text && ocrErrors.length) throw new Error(`OCR failed on ${ocrErrors[0]}`);
    return {
      ok: true,
      text,
      pages: doc.numPages,
      ocrPages,
      notes,
      ...(!text && !canOcr && withoutOcr.length ? { unsupported: 'The PDF has no text layer, and OCR is not available on this server (tesseract or pdftoppm is not installed)' } : {}),
    };
  } finally {
    await doc.destroy();
  }
}
