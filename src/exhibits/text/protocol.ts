/**
 * What the service sends the extractor process (one JSON line on its stdin) and what it answers (one JSON
 * line on its stdout). The process keeps reading stdin: its end means the service is gone.
 */
export interface ExtractRequest {
  /** Absolute path of the exhibit's file. */
  file: string;
  /** The exhibit's detected type. */
  mimeType: string;
  /** Characters kept; reading stops once they are there. */
  maxChars: number;
  /** Pages of a PDF that may be read by OCR. */
  maxOcrPages: number;
  /** Epoch ms after which no more OCR is started: what was read so far is answered. */
  deadline: number;
  /** Data limit of each OCR tool (TEXT_MAX_MEMORY_MB). */
  toolMemoryMb: number;
  /** Which OCR tools this machine has (see tools.ts). */
  tools: OcrTools;
}

export interface OcrTools {
  /** `tesseract` with English: images and PDF pages without a text layer. */
  tesseract: boolean;
  /** `pdftoppm` (poppler-utils): renders PDF pages without a text layer for OCR. */
  pdftoppm: boolean;
}

export interface ExtractedText {
  ok: true;
  text: string;
  /** Pages of a PDF (1 for an image); absent for DOCX and plain text. */
  pages?: number;
  /** Pages read by OCR. */
  ocrPages: number;
  /** What was left out and why (pages beyond the limits, OCR unavailable); for the log line. */
  notes: string[];
  /** Nothing could be read because a tool is missing (the status is then `unsupported`, not `ready`). */
  unsupported?: string;
}

export type ExtractReply = ExtractedText | { ok: false; error: string };
