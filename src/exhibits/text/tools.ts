import { execFile } from 'node:child_process';
import type { OcrTools } from './protocol.js';

/** Answers whether `command args` runs and prints what `expect` looks for. */
function runs(command: string, args: string[], expect: RegExp): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 10_000 }, (err, stdout, stderr) => resolve(!err && expect.test(`${stdout}${stderr}`)));
  });
}

let probed: Promise<OcrTools> | null = null;

/**
 * Which OCR tools this machine has: tesseract with its English data, and pdftoppm. Asked once per process
 * (they are not installed while it runs).
 */
export function probeOcrTools(): Promise<OcrTools> {
  probed ??= Promise.all([
    runs('tesseract', ['--list-langs'], /^eng$/m),
    runs('pdftoppm', ['-v'], /pdftoppm version/i),
  ]).then(([tesseract, pdftoppm]) => ({ tesseract, pdftoppm }));
  return probed;
}

/** The warning logged at start when OCR tools are missing, or null. */
export function missingToolsMessage(tools: OcrTools): string | null {
  if (tools.tesseract && tools.pdftoppm) return null;
  const missing = [!tools.tesseract && 'tesseract (with tesseract-ocr-eng)', !tools.pdftoppm && 'pdftoppm'].filter(Boolean).join(' and ');
  const effect = tools.tesseract
    ? 'PDF pages without a text layer are not read'
    : 'images are marked unsupported and PDF pages without a text layer are not read';
  return `OCR is not available: ${missing} not found, so ${effect}. Install: apt-get install tesseract-ocr tesseract-ocr-eng poppler-utils`;
}
