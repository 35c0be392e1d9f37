import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';

let t: TestApp;
afterEach(async () => t?.close());

const start = (app: TestApp['app'], body: Record<string, unknown> = {}) =>
  request(app)
    .post('/api/generate-petition')
    .send({ case_id: 'case-123', user_id: 'user-456', ...body });

const preview = (app: TestApp['app'], id: string) => request(app).get(`/api/document/preview/${id}`);

async function untilStatus(app: TestApp['app'], id: string, status: string) {
  return waitFor(async () => {
    const res = await preview(app, id);
    return res.body.status === status ? res.body : null;
  });
}

const EXPECTED = {
  petition: [
    ['intro', 'I. INTRODUCTION'],
    ['background', 'II. BENEFICIARY BACKGROUND'],
    ['awards', 'III. CRITERION 2.1 - AWARDS'],
    ['membership', 'IV. CRITERION 2.2 - MEMBERSHIPS'],
    ['publications', 'V. CRITERION 2.6 - SCHOLARLY ARTICLES'],
  ],
  letter: [
    ['header', 'Header'],
    ['body', 'Body'],
    ['closing', 'Closing'],
  ],
  memo: [['memo', 'Memorandum']],
} as const;

describe('the seed document tests', () => {
  it('starts a generation and answers at once with the thread id and a Location header', async () => {
    t = await makeTestApp();
    const res = await start(t.app);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      thread_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'generating',
      message: 'Document generation started for case case-123',
    });
    expect(res.headers.location).toBe(`/api/document/preview/${res.body.thread_id}`);
  });

  it('answers 404 with a {detail, code} body for an unknown thread', async () => {
    t = await makeTestApp();
    const res = await preview(t.app, '3b241101-e2bb-4255-8caf-4136c566a962');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('THREAD_NOT_FOUND');
    expect(res.body.detail).toContain('not found');
  });

  it('returns the preview in the seed shape', async () => {
    t = await makeTestApp();
    const { body: started } = await start(t.app);
    const body = await untilStatus(t.app, started.thread_id, 'completed');
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['thread_id', 'status', 'sections', 'exhibits', 'metadata', 'logs']),
    );
    // The seed's fields, and a completed section's citations (SPEC: every writer).
    expect(Object.keys(body.sections[0]).sort()).toEqual(
      ['content_html', 'section_id', 'section_name', 'section_order', 'status', 'tokens_used', 'updated_at', 'citations', 'unknown_citations'].sort(),
    );
    expect(Object.keys(body.metadata).sort()).toEqual(
      [
        'completed_sections',
        'elapsed_time',
        'estimated_cost',
        'estimated_remaining',
        'progress_percentage',
        'total_sections',
        'total_tokens',
        'prompt_tokens',
        'completion_tokens',
      ].sort(),
    );
    expect(body.logs[0]).toEqual({
      timestamp: expect.stringMatching(/Z$/),
      level: 'info',
      message: expect.any(String),
      agent: expect.any(String),
    });
  });

  it('pauses a generating workflow and refuses a second pause', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '200', SECTION_DELAY_MAX_MS: '200' } });
    const { body } = await start(t.app);
    const first = await request(t.app).post(`/api/pause/${body.thread_id}`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'paused', message: 'Document generation paused successfully' });
    const second = await request(t.app).post(`/api/pause/${body.thread_id}`);
    expect(second.status).toBe(400);
    expect(second.body).toEqual({
      detail: "Cannot pause workflow in status 'paused'. Must be 'generating'.",
      code: 'INVALID_STATE',
    });
  });

  it('resumes a paused workflow, which then completes', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '50', SECTION_DELAY_MAX_MS: '50' } });
    const { body } = await start(t.app);
    await request(t.app).post(`/api/pause/${body.thread_id}`).expect(200);
    const res = await request(t.app).post(`/api/resume/${body.thread_id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'generating', message: 'Document generation resumed successfully' });
    const done = await untilStatus(t.app, body.thread_id, 'completed');
    expect(done.metadata.completed_sections).toBe(5);
    const messages = done.logs.map((l: { message: string }) => l.message);
    expect(messages).toContain('Document generation paused by user');
    expect(messages).toContain('Document generation resumed');
  });

  it('refuses to resume a workflow that is not paused', async () => {
    t = await makeTestApp();
    const { body } = await start(t.app);
    await untilStatus(t.app, body.thread_id, 'completed');
    const res = await request(t.app).post(`/api/resume/${body.thread_id}`);
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe("Cannot resume workflow in status 'completed'. Must be 'paused' or 'error'.");
  });
});

describe.each(Object.entries(EXPECTED))('a complete %s lifecycle', (type, sections) => {
  it('writes every section in order and ends with exact metadata', async () => {
    t = await makeTestApp({ env: { COST_PER_1K_TOKENS: '0.02' } });
    const { body: started } = await start(t.app, { document_type: type, case_id: `case-${type}` });
    const body = await untilStatus(t.app, started.thread_id, 'completed');

    expect(body.document_type).toBe(type);
    expect(body.sections.map((s: { section_id: string; section_name: string }) => [s.section_id, s.section_name])).toEqual(
      sections,
    );
    expect(body.sections.map((s: { section_order: number }) => s.section_order)).toEqual(sections.map((_, i) => i + 1));
    for (const s of body.sections) {
      expect(s.status).toBe('completed');
      expect(s.content_html).toContain(`<h2>${s.section_name}</h2>`);
      expect(s.tokens_used).toBeGreaterThan(0);
      expect(s.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const tokens = body.sections.reduce((n: number, s: { tokens_used: number }) => n + s.tokens_used, 0);
    expect(body.metadata).toEqual({
      total_sections: sections.length,
      completed_sections: sections.length,
      progress_percentage: 100,
      elapsed_time: expect.any(Number),
      estimated_remaining: 0,
      total_tokens: tokens,
      estimated_cost: Math.round((tokens / 1000) * 0.02 * 1e6) / 1e6,
      // The template writer reports no prompt/completion split.
      prompt_tokens: 0,
      completion_tokens: 0,
    });
    const messages = body.logs.map((l: { message: string }) => l.message);
    for (const [, name] of sections) expect(messages.filter((m: string) => m === `Generating section: ${name}`)).toHaveLength(1);
    expect(body.logs.at(-1)).toMatchObject({ level: 'success', message: 'Document generation completed successfully!' });
  });
});

describe('the preview as a polling target', () => {
  it('sends an ETag and Cache-Control: no-cache, and answers a matching If-None-Match with 304', async () => {
    t = await makeTestApp();
    const { body } = await start(t.app);
    await untilStatus(t.app, body.thread_id, 'completed');
    const first = await preview(t.app, body.thread_id);
    expect(first.headers['cache-control']).toBe('no-cache');
    expect(first.headers.etag).toMatch(/^"[^"]+"$/);
    const again = await preview(t.app, body.thread_id);
    expect(again.headers.etag).toBe(first.headers.etag);
    const conditional = await preview(t.app, body.thread_id).set('If-None-Match', String(first.headers.etag));
    expect(conditional.status).toBe(304);
    expect(conditional.text).toBe('');
  });

  it('changes the ETag when the workflow changes', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '5000', SECTION_DELAY_MAX_MS: '5000' } });
    const { body } = await start(t.app);
    await request(t.app).post(`/api/pause/${body.thread_id}`).expect(200);
    const before = await preview(t.app, body.thread_id);
    await t.deps.store.appendLog(body.thread_id, {
      timestamp: new Date().toISOString(),
      level: 'info',
      message: 'external note',
      agent: 'test',
    });
    const after = await preview(t.app, body.thread_id).set('If-None-Match', String(before.headers.etag));
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.body.logs.at(-1).message).toBe('external note');
  });

  it('reads a finished document once and serves it from the cache; a generating one is read for every change', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '5000', SECTION_DELAY_MAX_MS: '5000' } });
    const { body } = await start(t.app);
    const id = body.thread_id as string;
    const reads = vi.spyOn(t.deps.store, 'get');
    const readsOf = () => reads.mock.calls.filter(([readId]) => readId === id).length;

    // Generating: each poll after a change shows that change (nothing stale is served from a cache).
    await preview(t.app, id).expect(200);
    for (let i = 0; i < 3; i++) {
      await t.deps.store.appendLog(id, { timestamp: new Date().toISOString(), level: 'info', message: `note ${i}`, agent: 'test' });
      expect((await preview(t.app, id)).body.logs.at(-1).message).toBe(`note ${i}`);
    }

    // Finished: one full read, then polls answer from the cache (the metadata no longer moves).
    await request(t.app).post(`/api/pause/${id}`).expect(200);
    await t.deps.store.transition(id, { from: ['paused'], to: 'error', at: Date.now(), errorMessage: 'stopped by test' });
    const first = await preview(t.app, id).expect(200);
    const before = readsOf();
    for (let i = 0; i < 5; i++) expect((await preview(t.app, id).expect(200)).text).toBe(first.text);
    expect(readsOf()).toBe(before);
    reads.mockRestore();
  });

  it('returns only the newest 50 logs, oldest first', async () => {
    t = await makeTestApp();
    const { body } = await start(t.app);
    await untilStatus(t.app, body.thread_id, 'completed');
    for (let i = 0; i < 120; i++) {
      await t.deps.store.appendLog(body.thread_id, {
        timestamp: new Date(Date.now() + i).toISOString(),
        level: 'info',
        message: `note ${i}`,
        agent: 'test',
      });
    }
    const res = await preview(t.app, body.thread_id);
    expect(res.body.logs).toHaveLength(50);
    expect(res.body.logs[0].message).toBe('note 70');
    expect(res.body.logs[49].message).toBe('note 119');
  });
});

describe('DELETE /api/document/:id', () => {
  it('removes the workflow: later reads answer 404', async () => {
    t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '2000', SECTION_DELAY_MAX_MS: '2000' } });
    const { body } = await start(t.app);
    const res = await request(t.app).delete(`/api/document/${body.thread_id}`);
    expect(res.status).toBe(204);
    expect(t.deps.runner.isRunning(body.thread_id)).toBe(false);
    expect((await preview(t.app, body.thread_id)).status).toBe(404);
    expect((await request(t.app).delete(`/api/document/${body.thread_id}`)).status).toBe(404);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    t = await makeTestApp();
    expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(t.app).get('/readyz')).body).toEqual({ status: 'ready' });
  });
});
