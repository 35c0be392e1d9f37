import { open } from 'node:fs/promises';
import mammoth from 'mammoth';
import { DOCX, TEXT_PLAIN } from '../content-detection.js';
import { cleanText, truncate } from './clean-text.js';
import { extractPdf } from './extract-pdf.js';
import type { ExtractedText, ExtractRequest } from './protocol.js';
import { ocr, toolLimits } from './run-tool.js';
import { IMAGE_TYPES, OCR_MISSING } from './supported.js';


/** The first characters of a UTF-8 file (the upload checked it is UTF-8), reading no more than they need. */
async function readPlain(file: string, maxChars: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxChars * 4);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // A character cut at the end decodes to U+FFFD, which the truncation then drops.
    return new TextDecoder('utf-8').decode(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

const done = (text: string, maxChars: number, extra: Partial<ExtractedText> = {}): ExtractedText => ({
  ok: true,
  text: truncate(cleanText(text), maxChars),
  ocrPages: 0,
  notes: [],
  ...extra,
});

const KIND: Record<string, string> = { 'application/pdf': 'the PDF', [DOCX]: 'the Word document', [TEXT_PLAIN]: 'the text file' };

/**
 * The text of one exhibit file, by its type. Runs in the extractor process (extract-child.ts). Fails with
 * a message fit for `text_error`.
 */
export async function extract(request: ExtractRequest): Promise<ExtractedText> {
  try {
    return await extractByType(request);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Could not read ${KIND[request.mimeType] ?? 'the image'}: ${reason}`.slice(0, 300), { cause: err });
  }
}

async function extractByType(request: ExtractRequest): Promise<ExtractedText> {
  const { file, mimeType, maxChars } = request;
  if (mimeType === 'application/pdf') return extractPdf(request);
  if (mimeType === DOCX) return done((await mammoth.extractRawText({ path: file })).value, maxChars);
  if (mimeType === TEXT_PLAIN) return done(await readPlain(file, maxChars + 1), maxChars);
  if (IMAGE_TYPES.has(mimeType)) {
    if (!request.tools.tesseract) {
      return done('', maxChars, { unsupported: OCR_MISSING });
    }
    return done(await ocr({ file }, toolLimits(request), maxChars), maxChars, { pages: 1, ocrPages: 1 });
  }
  return done('', maxChars, { unsupported: `No text extractor for ${mimeType}` });
}
