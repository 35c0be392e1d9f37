import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsServer } from '../../src/http/metrics-server.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { WorkflowStore } from '../../src/store/workflow-store.js';
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
    // The document's time is recorded after its last section: wait for it.
    await waitFor(async () => sample(await scrape(t), 'dm_document_generation_seconds_count', { document_type: 'petition' }) === 1);
  });
  afterAll(() => t.close());

  it('counts the sections written, their time and the whole document time', async () => {
    const text = await scrape(t);
    expect(sample(text, 'dm_sections_written_total', { status: 'completed' })).toBe(5);
    expect(sample(text, 'dm_section_generation_seconds_count')).toBe(5);
    expect(sample(text, 'dm_document_generation_seconds_count', { document_type: 'petition' })).toBe(1);
  });

  it('reports workflows by status from the store, as of its last background count', async () => {
    await t.deps.metrics.workflowCounts.refresh();
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
      await t.deps.metrics.workflowCounts.refresh();
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

/** A memory store that counts every call made to it. */
function countingStore(): { store: WorkflowStore; calls: () => number } {
  const real = new MemoryWorkflowStore({ ttlSeconds: 3600 });
  let calls = 0;
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls: () => calls };
}

describe('a scrape', () => {
  it('costs no store call, however many workflows there are', async () => {
    const counting = countingStore();
    const t = await makeTestApp({ overrides: { store: counting.store } });
    try {
      const user = uniqueUser();
      for (let i = 0; i < 300; i++) {
        await request(t.app).post('/api/generate-petition').send({ case_id: `load-${i}`, user_id: user }).expect(200);
      }
      await waitFor(async () => {
        await t.deps.metrics.workflowCounts.refresh();
        return sample(await scrape(t), 'dm_workflows', { status: 'completed' }) === 300;
      });

      const before = counting.calls();
      for (let i = 0; i < 20; i++) await scrape(t);
      expect(counting.calls() - before).toBe(0);
    } finally {
      await t.close();
    }
  }, 30_000);
});

describe('protecting /metrics', () => {
  const TOKEN = 'metrics-token-of-at-least-16';

  it('with METRICS_TOKEN: 401 without the token or with a wrong one, 200 with it', async () => {
    const t = await makeTestApp({ env: { METRICS_TOKEN: TOKEN } });
    try {
      for (const auth of [undefined, 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
        const req = request(t.app).get('/metrics');
        const res = await (auth ? req.set('Authorization', auth) : req);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ detail: expect.any(String), code: 'UNAUTHORIZED' });
        expect(res.text).not.toContain(TOKEN);
      }
      const ok = await request(t.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('dm_http_request_duration_seconds');
    } finally {
      await t.close();
    }
  });

  it('with METRICS_PORT: served on its own listener only, and 404 on the API port', async () => {
    const t = await makeTestApp({ env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN } });
    const server: http.Server = createMetricsServer(t.deps);
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      const onApi = await request(t.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(onApi.status).toBe(404);
      expect(onApi.body.code).toBe('ROUTE_NOT_FOUND');

      expect((await request(base).get('/metrics')).status).toBe(401);
      const ok = await request(base).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('process_resident_memory_bytes');
      // Nothing of the API is reachable through the metrics port.
      const api = await request(base).post('/api/generate-petition').send({ case_id: 'x', user_id: 'y' });
      expect(api.status).toBe(404);
      expect(api.body).toEqual({ detail: expect.any(String), code: 'ROUTE_NOT_FOUND' });
    } finally {
      server.close();
      await t.close();
    }
  });
});
