import { existsSync, readFileSync, rmSync } from 'node:fs';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { GatedWriter } from '../helpers/writers.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { readPdf, squash } from './pdf-text.js';
import { cachedPdf, completedWorkflow, download, exhibitOf, expectedTexts, indexesInOrder, pdfPath, renderCounter } from './helpers.js';

let t: TestApp;
afterEach(async () => t?.close());

const FACTS = {
  beneficiary_name: 'Łukasz Żółć',
  field: 'computational linguistics',
  awards: ['Gold Medal of the Polish Academy of Sciences', 'Премия имени Петра Иванова'],
  memberships: ['Association for Computational Linguistics'],
  publications: ['On Low-Resource Translation (2024)'],
};

describe('GET /api/download-petition-pdf/{thread_id}', () => {
  it('answers 404 with {detail, code} for unknown and malformed thread ids', async () => {
    t = await makeTestApp();
    for (const id of ['3b241101-e2bb-4255-8caf-4136c566a962', 'not-a-uuid', '..%2F..%2Fetc%2Fpasswd']) {
      const res = await request(t.app).get(`/api/download-petition-pdf/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.detail).toContain('not found');
      expect(res.body.code).toMatch(/NOT_FOUND/);
    }
  });

  it('answers 400 NOT_COMPLETED naming the status while the document is being written, and writes nothing', async () => {
    const writer = new GatedWriter();
    t = await makeTestApp({ overrides: { writer } });
    const start = await request(t.app).post('/api/generate-petition').send({ case_id: 'c-1', user_id: 'u-1' });
    const id = start.body.thread_id as string;
    await waitFor(() => writer.pending.length === 1);

    const res = await request(t.app).get(`/api/download-petition-pdf/${id}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'Document generation not completed yet. Current status: generating', code: 'NOT_COMPLETED' });

    await request(t.app).post(`/api/pause/${id}`).expect(200);
    writer.release();
    await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'paused');
    const paused = await request(t.app).get(`/api/download-petition-pdf/${id}`);
    expect(paused.body.detail).toBe('Document generation not completed yet. Current status: paused');
    expect(existsSync(pdfPath(t, id))).toBe(false);
  });

  it('sends a PDF attachment with every heading and paragraph in order, the title block and non-Latin names intact', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t, { case_id: 'EB1A-2026-0042', case_facts: FACTS });

    const res = await download(t, id);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="petition_${id}.pdf"`);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const bytes = res.body as Buffer;
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    // The response is the cached file on disk.
    expect(cachedPdf(t, id)?.equals(bytes)).toBe(true);

    const { pages, info } = await readPdf(bytes);
    const body = squash(pages.map((p) => p.body).join(' '));
    const first = pages[0]?.body ?? '';
    expect(first).toContain('PETITION FOR CLASSIFICATION AS AN ALIEN OF EXTRAORDINARY ABILITY');
    expect(first).toContain('Document type: Petition (EB-1A)');
    expect(first).toContain('Case ID: EB1A-2026-0042');
    expect(first).toContain('Beneficiary: Łukasz Żółć');
    const completedOn = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date());
    expect(first).toContain(`Date: ${completedOn}`);
    expect(info.Title).toContain('EB1A-2026-0042');

    const workflow = await t.deps.store.get(id);
    const expected = workflow!.sections.flatMap((s) => expectedTexts(s.content_html));
    expect(expected.length).toBeGreaterThan(15);
    expect(expected).toContain('Премия имени Петра Иванова');
    expect(body).toContain('Премия имени Петра Иванова');
    expect(body).toContain('on behalf of Łukasz Żółć (the "Beneficiary")');
    expect(indexesInOrder(body, expected)).toEqual({ missing: null });
    // Footer on every page.
    pages.forEach((page, i) => expect(page.text).toContain(`Page ${i + 1} of ${pages.length}`));
    // No exhibits, no exhibit list.
    expect(body).not.toContain('INDEX OF EXHIBITS');
  });

  it('names the file after the document type', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t, { document_type: 'memo' });
    const res = await download(t, id);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="memo_${id}.pdf"`);
    const { pages } = await readPdf(res.body as Buffer);
    expect(pages[0]?.body).toContain('MEMORANDUM');
    expect(pages[0]?.body).toContain('Document type: Memo');
  });

  it('serves repeated downloads byte-identical from the cache, rendering once', async () => {
    t = await makeTestApp();
    const renders = renderCounter(t);
    const id = await completedWorkflow(t);
    const a = await download(t, id);
    const b = await download(t, id);
    expect(a.status).toBe(200);
    expect((b.body as Buffer).equals(a.body as Buffer)).toBe(true);
    expect(renders.count).toBe(1);
  });

  it('renders the same bytes again when the cached file is lost (deterministic output)', async () => {
    t = await makeTestApp();
    const renders = renderCounter(t);
    const id = await completedWorkflow(t, { case_facts: FACTS });
    const a = await download(t, id);
    rmSync(pdfPath(t, id));
    const b = await download(t, id);
    expect(renders.count).toBe(2);
    expect((b.body as Buffer).equals(a.body as Buffer)).toBe(true);
  });

  it('renders once for twenty simultaneous first downloads, and all twenty get the same file', async () => {
    t = await makeTestApp();
    const renders = renderCounter(t);
    const id = await completedWorkflow(t);
    const results = await Promise.all(Array.from({ length: 20 }, () => download(t, id)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(renders.count).toBe(1);
    const first = results[0]!.body as Buffer;
    for (const r of results) expect((r.body as Buffer).equals(first)).toBe(true);
  });

  it('lists the exhibits (id, file name, type, size) and re-renders when an exhibit is added or replaced', async () => {
    t = await makeTestApp();
    const renders = renderCounter(t);
    const id = await completedWorkflow(t);
    const before = await download(t, id);
    expect(renders.count).toBe(1);

    await t.deps.store.putExhibit(id, exhibitOf('2.1.10', 'gold-medal.pdf', { file_size: 48_213 }));
    await t.deps.store.putExhibit(id, exhibitOf('2.1.2', 'Сертификат.png', { mime_type: 'image/png', file_size: 1_572_864 }));
    const after = await download(t, id);
    expect(renders.count).toBe(2);
    expect((after.body as Buffer).equals(before.body as Buffer)).toBe(false);
    expect(cachedPdf(t, id)?.equals(after.body as Buffer)).toBe(true);
    const { pages } = await readPdf(after.body as Buffer);
    const last = pages[pages.length - 1]!.body;
    expect(last).toContain('INDEX OF EXHIBITS');
    // Numbered order: 2.1.2 before 2.1.10.
    expect(indexesInOrder(last, ['Exhibit File name Type Size', '2.1.2 Сертификат.png PNG image 1.5 MB', '2.1.10 gold-medal.pdf PDF document 47.1 KB'])).toEqual({
      missing: null,
    });

    await t.deps.store.putExhibit(id, exhibitOf('2.1.10', 'gold-medal-certified.pdf', { file_size: 900 }));
    const replaced = await download(t, id);
    expect(renders.count).toBe(3);
    const text = (await readPdf(replaced.body as Buffer)).pages.map((p) => p.body).join(' ');
    expect(text).toContain('2.1.10 gold-medal-certified.pdf PDF document 900 bytes');
    expect(text).not.toContain('gold-medal.pdf');
  });

  it('notes each exhibit’s pages and whether its text was read, and re-renders when its text is read', async () => {
    t = await makeTestApp();
    const renders = renderCounter(t);
    const id = await completedWorkflow(t);
    const uploadId = '00000000-0000-4000-8000-0000000000a1';
    await t.deps.store.putExhibit(id, exhibitOf('1.1', 'award.pdf', { upload_id: uploadId, text_status: 'pending' }));
    await t.deps.store.putExhibit(id, exhibitOf('1.2', 'photo.png', { mime_type: 'image/png', text_status: 'unsupported', text_error: 'no OCR' }));
    const before = (await readPdf((await download(t, id)).body as Buffer)).pages.map((p) => p.body).join(' ');
    expect(before).toContain('Exhibit File name Type Size Pages, text');
    expect(before).toContain('award.pdf PDF document 47.1 KB text pending');
    expect(before).toContain('photo.png PNG image 47.1 KB text not read');

    await t.deps.store.setExhibitText(id, '1.1', uploadId, { text_status: 'ready', text_chars: 5000, page_count: 12 });
    const after = (await readPdf((await download(t, id)).body as Buffer)).pages.map((p) => p.body).join(' ');
    expect(renders.count).toBe(2);
    expect(after).toContain('award.pdf PDF document 47.1 KB 12 pages text read');
  });

  it('does not keep serving a PDF whose render was overtaken by a new exhibit', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t);
    let renders = 0;
    t.deps.pdf.onRender(() => {
      renders++;
      // The exhibit lands while the first render is still in flight (before its file is written).
      if (renders === 1) void t.deps.store.putExhibit(id, exhibitOf('2.6.1', 'late-article.pdf'));
    });
    const first = await download(t, id);
    expect(first.status).toBe(200);
    const second = await download(t, id);
    expect(renders).toBe(2);
    const text = (await readPdf(second.body as Buffer)).pages.map((p) => p.body).join(' ');
    expect(text).toContain('2.6.1 late-article.pdf');
  });

  it('answers 404 and leaves no file when the workflow is deleted while its PDF is being rendered', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t);
    t.deps.pdf.onRender(() => void t.deps.service.delete(id));
    const res = await request(t.app).get(`/api/download-petition-pdf/${id}`);
    expect(res.status).toBe(404);
    await waitFor(async () => (await t.deps.store.getHead(id)) === null);
    expect(existsSync(pdfPath(t, id))).toBe(false);
  });

  it('supports Range and conditional requests on the cached file', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t);
    const full = await download(t, id);
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.headers['cache-control']).toBe('private, no-cache');
    const size = (full.body as Buffer).length;

    const head = await download(t, id, { Range: 'bytes=0-7' });
    expect(head.status).toBe(206);
    expect((head.body as Buffer).toString()).toBe('%PDF-1.3');
    expect(head.headers['content-range']).toBe(`bytes 0-7/${size}`);

    const tail = await download(t, id, { Range: `bytes=${size - 6}-` });
    expect((tail.body as Buffer).toString()).toBe('%%EOF\n');

    const etag = full.headers.etag as string;
    expect(etag).toBeTruthy();
    expect((await download(t, id, { 'If-None-Match': etag })).status).toBe(304);
    expect((await download(t, id, { 'If-Modified-Since': full.headers['last-modified'] as string })).status).toBe(304);
    expect((await download(t, id, { Range: `bytes=${size + 10}-` })).status).toBe(416);
  });

  it('deletes the cached PDF with the workflow', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t);
    await download(t, id).expect(200);
    expect(existsSync(pdfPath(t, id))).toBe(true);
    await request(t.app).delete(`/api/document/${id}`).expect(204);
    expect(existsSync(pdfPath(t, id))).toBe(false);
    expect(existsSync(`${pdfPath(t, id)}.stamp.json`)).toBe(false);
    expect((await request(t.app).get(`/api/download-petition-pdf/${id}`)).status).toBe(404);
  });

  it('leaves no temporary files behind in PDF_DIR', async () => {
    t = await makeTestApp();
    const id = await completedWorkflow(t);
    await Promise.all(Array.from({ length: 5 }, () => download(t, id)));
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(t.deps.config.pdfDir).sort()).toEqual([`${id}.pdf`, `${id}.pdf.stamp.json`]);
    expect(readFileSync(pdfPath(t, id)).subarray(0, 5).toString()).toBe('%PDF-');
  });
});
