import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SectionWriter } from '../../src/workflow/section-writer.js';
import { pdf as pdfFile, png } from '../exhibits/fixtures.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { switchableStore, uniqueUser } from './helpers.js';

/** The value of one sample of the scraped text, e.g. `sample(text, 'dm_pdf_renders_total')`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const scrape = async (t: TestApp) => {
  const res = await request(t.app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text;
};

const upload = (t: TestApp, id: string, exhibitId: string, content: Buffer, name: string) =>
  request(t.app).post(`/api/upload-exhibit/${id}`).field('exhibit_id', exhibitId).attach('file', content, name);

describe('GET /metrics', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => {
    t = await makeTestApp();
    id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'm-1', user_id: uniqueUser() })).body.thread_id;
    await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'completed');
    // The generation thread reports its loops' metric calls every 50 ms: the document's end comes last.
    await waitFor(async () => sample(await scrape(t), 'dm_document_generation_seconds_count', { document_type: 'petition' }) === 1);
  });
  afterAll(() => t.close());

  it('counts the sections written, their time and the whole document time', async () => {
    const text = await scrape(t);
    expect(sample(text, 'dm_sections_written_total', { status: 'completed' })).toBe(5);
    expect(sample(text, 'dm_section_generation_seconds_count')).toBe(5);
    expect(sample(text, 'dm_document_generation_seconds_count', { document_type: 'petition' })).toBe(1);
  });

  it('reports workflows by status from the store', async () => {
    const text = await scrape(t);
    expect(sample(text, 'dm_workflows', { status: 'completed' })).toBe(1);
    expect(sample(text, 'dm_workflows', { status: 'generating' })).toBe(0);
  });

  it('counts accepted upload bytes and refused uploads by reason', async () => {
    expect((await upload(t, id, 'ex-a', pdfFile(3000), 'a.pdf')).status).toBe(200);
    expect((await upload(t, id, 'ex-b', png(), 'b.png')).status).toBe(200);
    expect((await upload(t, id, 'ex-c', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'c.svg')).status).toBe(415);
    expect((await upload(t, id, '..', png(), 'd.png')).status).toBe(400);
    const stored = (await t.deps.store.get(id))!.exhibits.reduce((sum, e) => sum + e.file_size, 0);
    const text = await scrape(t);
    expect(sample(text, 'dm_upload_bytes_total')).toBe(stored);
    expect(sample(text, 'dm_upload_rejections_total', { reason: 'UNSUPPORTED_FILE_TYPE' })).toBe(1);
    expect(sample(text, 'dm_upload_rejections_total', { reason: 'VALIDATION_ERROR' })).toBe(1);
  });

  it('counts PDF renders (not cache hits) and their time', async () => {
    const before = sample(await scrape(t), 'dm_pdf_renders_total') ?? 0;
    expect((await request(t.app).get(`/api/download-petition-pdf/${id}`)).status).toBe(200);
    expect((await request(t.app).get(`/api/download-petition-pdf/${id}`)).status).toBe(200);
    const text = await scrape(t);
    expect(sample(text, 'dm_pdf_renders_total')).toBe(before + 1);
    expect(sample(text, 'dm_pdf_render_seconds_count')).toBe(before + 1);
  });

  it('times requests by route template and status, with bounded labels', async () => {
    for (let i = 0; i < 3; i++) await request(t.app).get(`/api/document/preview/${id}`);
    for (let i = 0; i < 5; i++) await request(t.app).get(`/random-${crypto.randomUUID()}`);
    const text = await scrape(t);
    expect(
      sample(text, 'dm_http_request_duration_seconds_count', { method: 'GET', route: '/api/document/preview/{thread_id}', status: '200' }),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'dm_http_request_duration_seconds_count', { method: 'GET', route: 'other', status: '404' })).toBeGreaterThanOrEqual(5);
    expect(text).not.toContain('random-');
    expect(text).not.toContain(id);
  });

  it('exposes the event-loop delay and process metrics', async () => {
    const text = await scrape(t);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('metrics of failures', () => {
  it('counts store errors by operation', async () => {
    const s = switchableStore();
    const t = await makeTestApp({ overrides: { store: s.store } });
    try {
      const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'm-2', user_id: uniqueUser() })).body.thread_id;
      s.set('unavailable');
      expect((await request(t.app).get(`/api/document/preview/${id}`)).status).toBe(503);
      expect((await request(t.app).get(`/api/document/preview/${id}`)).status).toBe(503);
      const text = await (async () => {
        const res = await request(t.app).get('/metrics');
        return res.text;
      })();
      expect(sample(text, 'dm_store_errors_total', { operation: 'getIfChanged' })).toBeGreaterThanOrEqual(2);
    } finally {
      s.set('ok');
      await t.close();
    }
  });

  it('counts failed sections, rate-limited requests and idempotent replays', async () => {
    const failing: SectionWriter = {
      async write() {
        throw new Error('writer down');
      },
    };
    const t = await makeTestApp({ overrides: { writer: failing }, env: { RATE_LIMIT_READ_MAX: '2' } });
    try {
      const body = { case_id: 'm-3', user_id: uniqueUser() };
      const id = (await request(t.app).post('/api/generate-petition').set('Idempotency-Key', 'm3').send(body)).body.thread_id;
      await request(t.app).post('/api/generate-petition').set('Idempotency-Key', 'm3').send(body);
      await waitFor(async () => (await t.deps.store.getHead(id))?.status === 'error');
      for (let i = 0; i < 3; i++) await request(t.app).get(`/api/document/preview/${id}`);
      const text = await scrape(t);
      expect(sample(text, 'dm_sections_written_total', { status: 'error' })).toBe(1);
      expect(sample(text, 'dm_rate_limited_total', { limit: 'read' })).toBe(1);
      expect(sample(text, 'dm_idempotent_replays_total')).toBe(1);
      expect(sample(text, 'dm_workflows', { status: 'error' })).toBe(1);
    } finally {
      await t.close();
    }
  });
});
