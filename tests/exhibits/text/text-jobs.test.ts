import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { exhibitTextReader } from '../../../src/exhibits/text/exhibit-text.js';
import type { ExtractReply, ExtractRequest, OcrTools } from '../../../src/exhibits/text/protocol.js';
import type { ExtractOutcome } from '../../../src/exhibits/text/run-extractor.js';
import { makeTestApp, waitFor, type TestApp } from '../../helpers/app.js';
import { folderOf, preview, startWorkflow, upload } from '../uploads.js';
import { png } from '../fixtures.js';

/**
 * The life of an extraction job with a stand-in extractor that answers when the test says so: pending,
 * ready, failed, unsupported; replacement and deletion while it runs; concurrency; the recovery sweep.
 * (tests/exhibits/text/extract.test.ts runs the real extractor.)
 */

interface Call {
  request: Omit<ExtractRequest, 'deadline' | 'toolMemoryMb'>;
  signal: AbortSignal;
  answer(reply: ExtractReply): void;
}

/** An extractor that waits for `answer`, and gives up when aborted unless `ignoreAbort` (another process's job). */
function standInExtractor({ ignoreAbort = false } = {}) {
  const calls: Call[] = [];
  const run = (req: Call['request'], _limits: unknown, signal: AbortSignal) =>
    new Promise<ExtractOutcome>((resolve) => {
      calls.push({ request: req, signal, answer: resolve });
      if (!ignoreAbort) signal.addEventListener('abort', () => resolve({ ok: false, aborted: true }), { once: true });
    });
  return { calls, run };
}

const ALL_TOOLS: OcrTools = { tesseract: true, pdftoppm: true };
const QUOTED = 'Plain evidence, “quoted” — Zürich.';
const read = (text: string): ExtractReply => ({ ok: true, text, ocrPages: 0, notes: [] });

let t: TestApp | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

async function app(options: { env?: Record<string, string>; tools?: OcrTools; ignoreAbort?: boolean; logger?: pino.Logger } = {}) {
  const extractor = standInExtractor({ ignoreAbort: options.ignoreAbort });
  t = await makeTestApp({ env: options.env, logger: options.logger, overrides: { text: { run: extractor.run, tools: options.tools ?? ALL_TOOLS } } });
  return { t, calls: extractor.calls };
}

const exhibitOf = async (app: TestApp, id: string, exhibitId: string) => (await preview(app, id)).exhibits.find((e) => e.exhibit_id === exhibitId);
const textFiles = (app: TestApp, id: string) => {
  const dir = path.join(folderOf(app, id), '.text');
  return existsSync(dir) ? readdirSync(dir) : [];
};
const getText = (app: TestApp, id: string, storedName: string) => request(app.app).get(`/api/exhibits/${id}/${storedName}/text`);

describe('an exhibit’s text extraction', () => {
  it('is pending until the extractor answers, then ready and served as text/plain', async () => {
    const { t, calls } = await app();
    const id = await startWorkflow(t);
    expect((await upload(t, id, 'A', Buffer.from('Plain evidence.'), 'evidence.txt')).status).toBe(200);
    expect(await exhibitOf(t, id, 'A')).toMatchObject({ text_status: 'pending' });
    const pending = await getText(t, id, 'A_evidence.txt');
    expect(pending.status).toBe(409);
    expect(pending.body.code).toBe('TEXT_PENDING');
    expect(pending.headers['retry-after']).toBe('2');

    await waitFor(() => calls.length === 1);
    expect(calls[0]!.request).toMatchObject({ file: path.join(folderOf(t, id), 'A_evidence.txt'), mimeType: 'text/plain' });
    calls[0]!.answer(read(QUOTED));

    await waitFor(async () => (await exhibitOf(t, id, 'A'))?.text_status === 'ready');
    expect(await exhibitOf(t, id, 'A')).toMatchObject({ text_status: 'ready', text_chars: QUOTED.length });
    const res = await getText(t, id, 'A_evidence.txt');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toBe(QUOTED);
    expect((await preview(t, id)).logs.map((l) => l.message)).toContain(`Exhibit A: text read (${QUOTED.length} characters)`);
  });

  it('that fails is failed with its reason, and the text is unavailable', async () => {
    const { t, calls } = await app();
    const id = await startWorkflow(t);
    await upload(t, id, 'B', Buffer.from('%PDF-1.4 broken'), 'broken.pdf');
    await waitFor(() => calls.length === 1);
    calls[0]!.answer({ ok: false, error: 'Could not read the PDF: Invalid PDF structure.' });
    await waitFor(async () => (await exhibitOf(t, id, 'B'))?.text_status === 'failed');
    expect(await exhibitOf(t, id, 'B')).toMatchObject({ text_error: 'Could not read the PDF: Invalid PDF structure.' });
    expect(await exhibitOf(t, id, 'B')).not.toHaveProperty('text_chars');
    const res = await getText(t, id, 'B_broken.pdf');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ code: 'TEXT_UNAVAILABLE', detail: 'This exhibit has no text: Could not read the PDF: Invalid PDF structure.' });
    expect((await preview(t, id)).logs.some((l) => l.level === 'warning' && l.message.startsWith('Exhibit B: text could not be read: '))).toBe(true);
  });

  it('answers 404 as for the file: unknown exhibit, unknown or malformed thread', async () => {
    const { t } = await app();
    const id = await startWorkflow(t);
    for (const url of [`/api/exhibits/${id}/nothing.pdf/text`, '/api/exhibits/00000000-0000-4000-8000-000000000000/a.pdf/text', '/api/exhibits/not-a-uuid/a.pdf/text']) {
      const res = await request(t.app).get(url);
      expect(res.status, url).toBe(404);
      expect(res.body.code, url).toBe('NOT_FOUND');
    }
  });

  it('replaced while it runs (same file name): the first stops, the replacement’s text is the one kept', async () => {
    const { t, calls } = await app();
    const id = await startWorkflow(t);
    await upload(t, id, 'A', Buffer.from('first version'), 'evidence.txt');
    await waitFor(() => calls.length === 1);
    await upload(t, id, 'A', Buffer.from('second version'), 'evidence.txt');
    await waitFor(() => calls.length === 2);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[1]!.answer(read('second version'));
    await waitFor(async () => (await exhibitOf(t, id, 'A'))?.text_status === 'ready');
    expect((await getText(t, id, 'A_evidence.txt')).text).toBe('second version');
    expect(textFiles(t, id)).toHaveLength(1);
  });

  it('replaced by another process while it runs: its late result is dropped and leaves no file', async () => {
    // The replacement is written to the store directly, as another process would: nothing here stops the job.
    const { t, calls } = await app({ ignoreAbort: true });
    const id = await startWorkflow(t);
    await upload(t, id, 'A', Buffer.from('first version'), 'evidence.txt');
    await waitFor(() => calls.length === 1);
    const current = (await t.deps.store.get(id))!.exhibits[0]!;
    const replacement = { ...current, upload_id: '00000000-0000-4000-8000-00000000000a', uploaded_at: new Date().toISOString() };
    await t.deps.store.putExhibit(id, replacement);

    calls[0]!.answer(read('first version'));
    await waitFor(() => t.deps.text.busy === 0);
    expect(textFiles(t, id)).toEqual([]);
    expect((await t.deps.store.get(id))!.exhibits).toEqual([replacement]);
    expect((await preview(t, id)).logs.some((l) => l.message.includes('text read'))).toBe(false);
  });

  it('deleted with its workflow while it runs: stops, and nothing is left on disk', async () => {
    const { t, calls } = await app();
    const id = await startWorkflow(t);
    await upload(t, id, 'A', Buffer.from('to be deleted'), 'evidence.txt');
    await waitFor(() => calls.length === 1);
    expect((await request(t.app).delete(`/api/document/${id}`)).status).toBe(204);
    await waitFor(() => calls[0]!.signal.aborted);
    expect(existsSync(folderOf(t, id))).toBe(false);
  });

  it('deleted by another process while it runs: its late result leaves no text file', async () => {
    const { t, calls } = await app({ ignoreAbort: true });
    const id = await startWorkflow(t);
    await upload(t, id, 'A', Buffer.from('to be deleted'), 'evidence.txt');
    await waitFor(() => calls.length === 1);
    await t.deps.store.delete(id);
    calls[0]!.answer(read('to be deleted'));
    await waitFor(() => t.deps.text.busy === 0);
    // The other process removes the folder; the text written meanwhile went again with its folder.
    expect(readdirSync(folderOf(t, id))).toEqual(['A_evidence.txt']);
  });

  it('runs at most TEXT_CONCURRENCY extractions at once, the others in upload order', async () => {
    const { t, calls } = await app({ env: { TEXT_CONCURRENCY: '2' } });
    const id = await startWorkflow(t);
    for (const name of ['A', 'B', 'C']) await upload(t, id, name, Buffer.from(`exhibit ${name}`), `${name}.txt`);
    await waitFor(() => calls.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.map((c) => path.basename(c.request.file))).toEqual(['A_A.txt', 'B_B.txt']);
    calls[0]!.answer(read('exhibit A'));
    await waitFor(() => calls.length === 3);
    expect(path.basename(calls[2]!.request.file)).toBe('C_C.txt');
  });

  it('without tesseract, an image is unsupported at once with the reason, and the start says so once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    const { t, calls } = await app({ tools: { tesseract: false, pdftoppm: false }, logger });
    t.deps.text.start();
    const id = await startWorkflow(t);
    await upload(t, id, 'IMG', png(), 'scan.png');
    expect(await exhibitOf(t, id, 'IMG')).toMatchObject({
      text_status: 'unsupported',
      text_error: 'OCR is not available on this server (tesseract is not installed)',
    });
    const res = await getText(t, id, 'IMG_scan.png');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('TEXT_UNAVAILABLE');
    expect(calls).toHaveLength(0);
    const warnings = lines.filter((l) => l.includes('OCR is not available: tesseract'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('apt-get install tesseract-ocr tesseract-ocr-eng poppler-utils');
  });

  it('left unqueued by a process that died after storing the exhibit is taken up by the recovery sweep', async () => {
    const { t, calls } = await app({ env: { LEASE_TTL_MS: '1000', RECOVERY_INTERVAL_MS: '100' } });
    const id = await startWorkflow(t);
    const exhibit = {
      exhibit_id: 'Z',
      filename: 'z.txt',
      stored_name: 'Z_z.txt',
      file_path: `/api/exhibits/${id}/Z_z.txt`,
      file_size: 4,
      mime_type: 'text/plain',
      uploaded_at: new Date().toISOString(),
      ...t.deps.text.fieldsFor('text/plain'),
    };
    // What the upload does up to its store write; the queueing after it never happens.
    mkdirSync(folderOf(t, id), { recursive: true });
    writeFileSync(path.join(folderOf(t, id), 'Z_z.txt'), 'lost');
    await t.deps.text.beforeStore(id, exhibit);
    await t.deps.store.putExhibit(id, exhibit);
    t.deps.text.start();
    await waitFor(() => calls.length === 1, { timeoutMs: 5000 });
    calls[0]!.answer(read('recovered'));
    await waitFor(async () => (await exhibitOf(t, id, 'Z'))?.text_status === 'ready');
  });

  it('is what the model writer reads: the text when ready, at most its limit, else null', async () => {
    const { t, calls } = await app();
    const id = await startWorkflow(t);
    await upload(t, id, 'A', Buffer.from('x'), 'a.txt');
    const reader = exhibitTextReader({ uploadDir: t.deps.config.uploadDir, maxChars: 10 });
    const pending = (await t.deps.store.get(id))!.exhibits[0]!;
    expect(await reader(id, pending)).toBeNull();
    await waitFor(() => calls.length === 1);
    calls[0]!.answer(read('Ünïcödé evidence, longer than ten characters'));
    await waitFor(async () => (await exhibitOf(t, id, 'A'))?.text_status === 'ready');
    const ready = (await t.deps.store.get(id))!.exhibits[0]!;
    expect(await reader(id, ready)).toBe('Ünïcödé ev');
    expect(await exhibitTextReader({ uploadDir: t.deps.config.uploadDir, maxChars: 1000 })(id, ready)).toBe('Ünïcödé evidence, longer than ten characters');
  });
});
