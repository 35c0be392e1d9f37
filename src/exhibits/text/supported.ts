import { DOCX, TEXT_PLAIN } from '../content-detection.js';

/** Accepted types read by OCR; every other accepted type has an extractor of its own. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/apng', 'image/jpeg', 'image/gif', 'image/webp', 'image/tiff']);

/** Whether a type has an extractor at all (whether OCR is installed is a separate question). */
export const hasExtractor = (mimeType: string) =>
  mimeType === 'application/pdf' || mimeType === DOCX || mimeType === TEXT_PLAIN || IMAGE_TYPES.has(mimeType);

export const OCR_MISSING = 'OCR is not available on this server (tesseract is not installed)';
