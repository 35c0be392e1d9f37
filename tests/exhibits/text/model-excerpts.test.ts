import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, waitFor, type TestApp } from '../../helpers/app.js';
import { FakeOpenAI } from '../../helpers/fake-openai.js';
import { upload } from '../uploads.js';

// The model writer (WRITER=openai, a local OpenAI-compatible server) with the real text extraction.
describe('the model writer’s prompts', { timeout: 120_000 }, () => {
  let fake: FakeOpenAI;
  let t: TestApp;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  it('quote the extracted text of the exhibits a section cites', async () => {
    let release!: () => void;
    // The first section's answer waits until the exhibit's text is read: the awards section starts after.
    fake.script({ chunks: ['Introduction.'], hold: new Promise<void>((r) => (release = r)) });
    t = await makeTestApp({
      env: { WRITER: 'openai', LLM_BASE_URL: `${fake.url}/v1`, LLM_MODEL: 'test-model', LLM_FLUSH_MS: '20', PROMPTS_DIR: 'prompts' },
    });
    const id = (await request(t.app).post('/api/generate-petition').send({ case_id: 'excerpts', user_id: 'u' }).expect(200)).body.thread_id as string;
    await waitFor(() => fake.inFlight === 1);
    const quote = 'The Royal Society awards its Gold Medal to Dr. Ada Roe for the discovery of protein folding rules.';
    await upload(t, id, '2.1.a', Buffer.from(`${quote}\n`), 'gold-medal.txt');
    await upload(t, id, '2.2.a', Buffer.from('Membership certificate of another criterion.\n'), 'membership.txt');
    await waitFor(async () => (await t.deps.store.get(id))!.exhibits.every((e) => e.text_status === 'ready'), { timeoutMs: 60_000, intervalMs: 100 });
    release();

    const prompt = (criterion: string) =>
      fake.requests.map((r) => (r.body.messages ?? []).map((m) => m.content).join('\n')).find((text) => text.includes(`CRITERION ${criterion}`));
    await waitFor(() => prompt('2.1'), { timeoutMs: 60_000, intervalMs: 100 });
    expect(prompt('2.1')).toContain(quote);
    expect(prompt('2.1')).not.toContain('Membership certificate of another criterion.');
  });
});
