import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';

// The runner with the real model writer (WRITER=openai) against a local OpenAI-compatible server.
let fake: FakeOpenAI;
let t: TestApp | null = null;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
afterEach(async () => {
  await t?.close();
  t = null;
});

async function startMemo(): Promise<string> {
  t = await makeTestApp({
    env: { WRITER: 'openai', LLM_BASE_URL: `${fake.url}/v1`, LLM_MODEL: 'test-model', LLM_FLUSH_MS: '20', PROMPTS_DIR: 'prompts' },
  });
  const res = await request(t.app).post('/api/generate-petition').send({ case_id: 'model', user_id: 'u', document_type: 'memo' }).expect(200);
  return res.body.thread_id as string;
}

const memoSection = async (id: string) => (await request(t!.app).get(`/api/document/preview/${id}`)).body.sections[0];

describe('a section written by a model', () => {
  it('grows in the preview while streamed, then completes with the call’s usage and its citations', async () => {
    const chunks = ['The evidence ', 'is strong. ', ...Array.from({ length: 40 }, (_, i) => `Point ${i}. `), 'See Exhibit 7.'];
    fake.script({ chunks, chunkDelayMs: 5, usage: { prompt_tokens: 50, completion_tokens: 30 } });
    const id = await startMemo();
    await waitFor(async () => {
      const s = await memoSection(id);
      return s.status === 'in_progress' && s.content_html.includes('Point');
    });
    await waitFor(async () => (await memoSection(id)).status === 'completed');
    const wf = (await t!.deps.store.get(id))!;
    expect(wf.sections[0]).toMatchObject({ tokens_used: 80, prompt_tokens: 50, completion_tokens: 30, citations: ['7'], unknown_citations: ['7'] });
    expect(wf.sections[0]!.content_html).toContain('See Exhibit 7.');
    expect(wf.logs.some((l) => l.level === 'warning' && l.message.includes('Exhibit 7'))).toBe(true);
  });

  it('has its call cut at once when the workflow is deleted mid-stream', async () => {
    fake.script({ chunks: ['a', 'b', 'c'], stallAfter: 1 });
    const closed = fake.clientClosed;
    const id = await startMemo();
    await waitFor(() => fake.inFlight === 1);
    await request(t!.app).delete(`/api/document/${id}`).expect(204);
    await waitFor(() => fake.clientClosed === closed + 1);
    expect(t!.deps.runner.isRunning(id)).toBe(false);
  });
});
