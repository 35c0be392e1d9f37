import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractReply, OcrTools } from '../../../src/exhibits/text/protocol.js';
import { launcher, runExtractor, type ExtractOutcome } from '../../../src/exhibits/text/run-extractor.js';
import { probeOcrTools } from '../../../src/exhibits/text/tools.js';
import { docx, flateBombPdf, nestedPdf, ocrTestsRun, pngBomb, scannedPdf, tesseractTestsRun, textPdf, tiffBomb, wordsPng } from './files.js';

const tools = await probeOcrTools();

const dir = mkdtempSync(path.join(tmpdir(), 'dm-extract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const save = (content: Buffer) => {
  const file = path.join(dir, `f${files++}`);
  writeFileSync(file, content);
  return file;
};

const LIMITS = { timeoutMs: 60_000, maxMemoryMb: 512 };

function extract(
  content: Buffer,
  mimeType: string,
  options: { maxChars?: number; maxOcrPages?: number; tools?: OcrTools; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ExtractOutcome> {
  return runExtractor(
    { file: save(content), mimeType, maxChars: options.maxChars ?? 200_000, maxOcrPages: options.maxOcrPages ?? 50, tools: options.tools ?? tools },
    { ...LIMITS, timeoutMs: options.timeoutMs ?? LIMITS.timeoutMs },
    options.signal ?? new AbortController().signal,
  );
}

function text(outcome: ExtractOutcome): Extract<ExtractReply, { ok: true }> {
  if (!outcome.ok) throw new Error(`extraction failed: ${JSON.stringify(outcome)}`);
  return outcome;
}

/** OCR may misread a letter: the words that matter must be there, case aside. */
const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ');

// Extractions run at the lowest CPU priority: on a busy machine they take a while.
describe('extracting the text of an exhibit', { timeout: 120_000 }, () => {
  it('reads the text layer of a PDF, page by page, and counts its pages', async () => {
    const out = text(await extract(await textPdf(['Award letter from the Royal Society.', 'Membership certificate, page two.', 'Third page: press coverage.']), 'application/pdf'));
    expect(out.text).toContain('Award letter from the Royal Society.');
    expect(out.text).toContain('Membership certificate, page two.');
    expect(out.text.indexOf('page two')).toBeLessThan(out.text.indexOf('Third page'));
    expect(out.pages).toBe(3);
    expect(out.ocrPages).toBe(0);
  });

  it.skipIf(!ocrTestsRun)('reads a scanned PDF (pages that are only an image) by OCR', async () => {
    const out = text(await extract(await scannedPdf(['Certificate of Membership awarded to Ada Lovelace', 'Association for Computing Machinery']), 'application/pdf'));
    expect(words(out.text)).toContain('certificate of membership');
    expect(words(out.text)).toContain('ada lovelace');
    expect(words(out.text)).toContain('computing machinery');
    expect(out).toMatchObject({ pages: 2, ocrPages: 2 });
  });

  it.skipIf(!ocrTestsRun)('reads the printed words of a PNG by OCR', async () => {
    const out = text(await extract(await wordsPng('Outstanding Researcher Award 2024\nPresented by the Institute'), 'image/png'));
    expect(words(out.text)).toContain('outstanding researcher award 2024');
    expect(words(out.text)).toContain('presented by the institute');
    expect(out).toMatchObject({ pages: 1, ocrPages: 1 });
  });

  it('reads a Word document', async () => {
    const out = text(await extract(docx(['Letter of recommendation', 'Dr. Ünal’s work on “speech” changed the field.']), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'));
    expect(out.text).toContain('Letter of recommendation');
    expect(out.text).toContain('Dr. Ünal’s work on “speech” changed the field.');
  });

  it('keeps plain text as it is, without control characters', async () => {
    const out = text(await extract(Buffer.from('\uFEFFTranscript\r\nIssued in Zürich, 東京.\u0007\n', 'utf8'), 'text/plain'));
    expect(out.text).toBe('Transcript\nIssued in Zürich, 東京.');
  });

  it('keeps at most TEXT_MAX_CHARS characters and stops reading pages once it has them', async () => {
    const pages = Array.from({ length: 10 }, (_, i) => `Page ${i + 1}. ${'Evidence of sustained acclaim. '.repeat(30)}`);
    const out = text(await extract(await textPdf(pages), 'application/pdf', { maxChars: 1000 }));
    expect(out.text.length).toBe(1000);
    expect(out.pages).toBe(10);
    expect(out.notes.join(' ')).toMatch(/pages? not read \(character limit\)/);
  });

  it.skipIf(!ocrTestsRun)('reads at most TEXT_MAX_PAGES pages by OCR', async () => {
    const out = text(await extract(await scannedPdf(['First scanned page here', 'Second scanned page here', 'Third scanned page here']), 'application/pdf', { maxOcrPages: 1 }));
    expect(out.ocrPages).toBe(1);
    expect(words(out.text)).toContain('first scanned page');
    expect(words(out.text)).not.toContain('second');
    expect(out.notes.join(' ')).toContain('2 pages without a text layer not read (OCR page limit)');
  });

  it('without OCR tools, an image and a scan have no text for a stated reason, and a text layer is still read', async () => {
    const none = { tesseract: false, pdftoppm: false };
    const image = text(await extract(Buffer.from('not looked at'), 'image/png', { tools: none }));
    expect(image.unsupported).toMatch(/tesseract is not installed/);
    const scan = text(await extract(await textPdf(['']), 'application/pdf', { tools: none }));
    expect(scan.unsupported).toMatch(/no text layer, and OCR is not available/);
    const layered = text(await extract(await textPdf(['A text layer needs no OCR at all.']), 'application/pdf', { tools: none }));
    expect(layered.text).toBe('A text layer needs no OCR at all.');
    expect(layered.unsupported).toBeUndefined();
  });

  it('fails with the reason when the file is not what it claims', async () => {
    const out = await extract(Buffer.from('%PDF-1.4\nthis is no PDF at all'), 'application/pdf');
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/^Could not read the PDF: /) });
  });

  it('fails an extraction that takes longer than TEXT_TIMEOUT_MS', async () => {
    const out = await extract(await textPdf(['Too slow to be read in time.']), 'application/pdf', { timeoutMs: 150 });
    expect(out).toEqual({ ok: false, error: 'Text extraction took longer than 150 ms (TEXT_TIMEOUT_MS)' });
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    const pending = extract(await textPdf(['Never read.']), 'application/pdf', { signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, aborted: true });
  });
});

describe('hostile files end failed with a reason', { timeout: 120_000 }, () => {
  it('a FlateDecode stream inflating to a gigabyte', async () => {
    const out = await extract(await flateBombPdf(1024), 'application/pdf');
    expect(out).toEqual({ ok: false, error: 'The file needs more memory than TEXT_MAX_MEMORY_MB (512 MB) allows' });
  });

  it('a PDF nested 100,000 levels deep', async () => {
    const out = await extract(nestedPdf(100_000), 'application/pdf');
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/^Could not read the PDF: .*call stack/) });
  });

  it.skipIf(!tesseractTestsRun)('a PNG decompressing to 625 megapixels', async () => {
    const out = await extract(await pngBomb(25_000), 'image/png');
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/^Could not read the image: |needs more memory/) });
  });

  it.skipIf(!tesseractTestsRun)('a TIFF decompressing to 625 megapixels', async () => {
    const out = await extract(await tiffBomb(25_000), 'image/tiff');
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/^Could not read the image: |needs more memory/) });
  });
});

describe('the extractor process', () => {
  it('runs under SCHED_IDLE and its data limit, so requests get the CPU first', () => {
    const out = execFileSync('/bin/sh', [...launcher(300), '/bin/sh', '-c', 'chrt -p $$; ulimit -d'], { encoding: 'utf8' });
    expect(out).toMatch(/scheduling policy: SCHED_IDLE/);
    expect(out.trim().split('\n').at(-1)).toBe(String(300 * 1024));
  });

  it('still starts where chrt is missing, with its data limit', () => {
    const out = execFileSync('/bin/sh', [...launcher(300), '/bin/sh', '-c', 'ulimit -d'], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
    expect(out.trim()).toBe(String(300 * 1024));
  });
});
