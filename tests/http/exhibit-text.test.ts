import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { folderOf, preview, startWorkflow, upload } from '../exhibits/uploads.js';
import { docx, flateBombPdf, nestedPdf, ocrTestsRun, pngBomb, scannedPdf, tesseractTestsRun, textPdf, tiffBomb, wordsPng } from '../exhibits/text/files.js';

/**
 * Exhibit text over HTTP with the real extractor: real files in, their text out; hostile files end
 * `failed` while the service keeps answering. Extractions run at the lowest CPU priority, so on a busy
 * machine they take a while: the waits are long.
 */

const ocr = ocrTestsRun;

const LONG = { timeoutMs: 180_000, intervalMs: 200 };
type ShownExhibit = { exhibit_id: string; file_path: string; text_status?: string; text_chars?: number; text_error?: string };

const exhibits = async (t: TestApp, id: string) => (await preview(t, id)).exhibits as unknown as ShownExhibit[];

async function settled(t: TestApp, id: string, count: number): Promise<ShownExhibit[]> {
  let last: ShownExhibit[] = [];
  await waitFor(async () => {
    last = await exhibits(t, id);
    return last.length === count && last.every((e) => e.text_status !== 'pending');
  }, LONG);
  return last;
}

const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ');

describe('exhibit text over HTTP, real files', { timeout: 240_000 }, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ env: { TEXT_CONCURRENCY: '2' } });
  });
  afterAll(() => t.close());

  it('reads a PDF’s text layer, a Word document, plain text and a PNG of printed words, and serves each', async () => {
    const id = await startWorkflow(t);
    const files: Array<[string, Buffer, string]> = [
      ['1.a', await textPdf(['Award of the Royal Society, 2024.', 'Second page of the award letter.']), 'award.pdf'],
      ['1.b', docx(['Letter of support from Prof. Émile Ñúñez.']), 'support.docx'],
      ['1.c', Buffer.from('Membership: IEEE Fellow since 2019.\n', 'utf8'), 'membership.txt'],
      ...(ocr ? [['1.d', await wordsPng('Best Paper Award\nInternational Conference 2023'), 'certificate.png'] as [string, Buffer, string]] : []),
    ];
    for (const [exhibitId, content, name] of files) expect((await upload(t, id, exhibitId, content, name)).status).toBe(200);

    const shown = await settled(t, id, files.length);
    const textOf = async (exhibitId: string) => {
      const exhibit = shown.find((e) => e.exhibit_id === exhibitId)!;
      expect(exhibit.text_status, exhibitId).toBe('ready');
      const res = await request(t.app).get(`${exhibit.file_path}/text`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(exhibit.text_chars).toBe(res.text.length);
      return res.text;
    };
    expect(await textOf('1.a')).toBe('Award of the Royal Society, 2024.\n\nSecond page of the award letter.');
    expect(await textOf('1.b')).toBe('Letter of support from Prof. Émile Ñúñez.');
    expect(await textOf('1.c')).toBe('Membership: IEEE Fellow since 2019.');
    if (ocr) expect(words(await textOf('1.d'))).toContain('best paper award international conference 2023');
    const logs = (await preview(t, id)).logs.map((l) => l.message);
    expect(logs).toContain('Exhibit 1.a: text read (67 characters, 2 pages)');
  });

  it.skipIf(!ocr)('reads a scanned PDF by OCR', async () => {
    const id = await startWorkflow(t);
    await upload(t, id, '2.a', await scannedPdf(['Certificate of Membership', 'National Academy of Sciences']), 'scan.pdf');
    const [scan] = await settled(t, id, 1);
    expect(scan!.text_status).toBe('ready');
    const text = (await request(t.app).get(`${scan!.file_path}/text`)).text;
    expect(words(text)).toContain('certificate of membership');
    expect(words(text)).toContain('national academy of sciences');
    expect((await preview(t, id)).logs.some((l) => /^Exhibit 2\.a: text read \(\d+ characters, 2 pages by OCR\)$/.test(l.message))).toBe(true);
  });

  it('removes an exhibit’s text with the exhibit: replaced, then the workflow deleted', async () => {
    const id = await startWorkflow(t);
    await upload(t, id, '3.a', Buffer.from('first'), 'a.txt');
    await settled(t, id, 1);
    const textDir = path.join(folderOf(t, id), '.text');
    expect(readdirSync(textDir)).toHaveLength(1);
    const first = readdirSync(textDir)[0];
    await upload(t, id, '3.a', Buffer.from('second'), 'b.txt');
    const [replaced] = await settled(t, id, 1);
    expect((await request(t.app).get(`${replaced!.file_path}/text`)).text).toBe('second');
    expect(readdirSync(textDir)).toHaveLength(1);
    expect(readdirSync(textDir)).not.toContain(first);
    expect((await request(t.app).delete(`/api/document/${id}`)).status).toBe(204);
    expect(existsSync(folderOf(t, id))).toBe(false);
  });
});

describe('hostile exhibits', { timeout: 300_000 }, () => {
  let t: TestApp;
  beforeAll(async () => {
    // Polled harder than any client would: no rate limit.
    t = await makeTestApp({ env: { RATE_LIMIT_READ_MAX: '0', RATE_LIMIT_MUTATING_MAX: '0' } });
  });
  afterAll(() => t.close());

  it('end failed with a reason, while polls and uploads carry on; a good file after them is read', async () => {
    const id = await startWorkflow(t);
    const hostile: Array<[string, Buffer, string]> = [
      ['h.1', await flateBombPdf(1024), 'inflates-to-1-GB.pdf'],
      ['h.2', nestedPdf(100_000), 'nested.pdf'],
      ...(tesseractTestsRun
        ? [
            ['h.3', await pngBomb(25_000), 'bomb.png'] as [string, Buffer, string],
            ['h.4', await tiffBomb(25_000), 'bomb.tiff'] as [string, Buffer, string],
          ]
        : []),
    ];
    for (const [exhibitId, content, name] of hostile) expect((await upload(t, id, exhibitId, content, name)).status).toBe(200);

    // While they are being extracted: polls answer, and uploads are accepted.
    let polls = 0;
    let uploads = 0;
    while ((await exhibits(t, id)).some((e) => e.text_status === 'pending')) {
      for (let i = 0; i < 10; i++) {
        expect((await request(t.app).get(`/api/document/preview/${id}`)).status).toBe(200);
        polls++;
      }
      if (uploads < 3) expect((await upload(t, id, `ok.${uploads++}`, Buffer.from('fine'), 'fine.txt')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(polls).toBeGreaterThan(0);

    const shown = await settled(t, id, hostile.length + uploads);
    for (const [exhibitId] of hostile) {
      const exhibit = shown.find((e) => e.exhibit_id === exhibitId)!;
      expect(exhibit.text_status, exhibitId).toBe('failed');
      expect(exhibit.text_error, exhibitId).toMatch(/^(Could not read the (PDF|image): |The file needs more memory than TEXT_MAX_MEMORY_MB)/);
      const res = await request(t.app).get(`${exhibit.file_path}/text`);
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ code: 'TEXT_UNAVAILABLE', detail: `This exhibit has no text: ${exhibit.text_error}` });
    }
    expect(shown.find((e) => e.exhibit_id === 'h.1')!.text_error).toBe('The file needs more memory than TEXT_MAX_MEMORY_MB (512 MB) allows');
    expect(shown.find((e) => e.exhibit_id === 'h.2')!.text_error).toMatch(/call stack/);

    await upload(t, id, 'after', await textPdf(['Read after the hostile files.']), 'after.pdf');
    const after = (await settled(t, id, hostile.length + uploads + 1)).find((e) => e.exhibit_id === 'after')!;
    expect(after.text_status).toBe('ready');
    expect((await request(t.app).get(`${after.file_path}/text`)).text).toBe('Read after the hostile files.');
  });
});
