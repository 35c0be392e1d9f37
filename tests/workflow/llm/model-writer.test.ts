import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import type { Workflow } from '../../../src/domain/types.js';
import { ModelClient } from '../../../src/workflow/llm/model-client.js';
import { createModelWriter, type ModelWriterOptions } from '../../../src/workflow/llm/model-writer.js';
import type { SectionWriter } from '../../../src/workflow/section-writer.js';
import { waitFor } from '../../helpers/app.js';
import { FakeOpenAI } from '../../helpers/fake-openai.js';
import { exhibit, llmConfig, logLines, makeWorkflow, promptsCopy, silent, TEST_KEY } from './fixtures.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.requests.length = 0;
  fake.maxInFlight = fake.inFlight;
  fake.clientClosed = 0;
});

const FAST: ModelWriterOptions = { retryBaseMs: 1, retryMaxMs: 5 };

function writer(env: Record<string, string> = {}, options: ModelWriterOptions = FAST, config?: Config): SectionWriter {
  return createModelWriter(config ?? llmConfig(fake.url, env), silent, options);
}

/** One section write, keeping what it reported on the way. */
async function write(w: SectionWriter, opts: { workflow?: Workflow; sectionId?: string; signal?: AbortSignal } = {}) {
  const workflow = opts.workflow ?? makeWorkflow('petition', { beneficiary_name: 'Dr. Ada Roe', field: 'computational biology', awards: ['Gold Medal, 2021'] });
  const section = workflow.sections.find((s) => s.section_id === (opts.sectionId ?? 'awards'))!;
  const progress: string[] = [];
  const { log, lines } = logLines();
  const run = w.write({
    workflow,
    section,
    exhibits: workflow.exhibits,
    signal: opts.signal ?? new AbortController().signal,
    onProgress: (p) => progress.push(p.content_html),
    log,
  });
  return { run, progress, lines };
}

describe('a section streamed from the model', () => {
  it('sends one streaming request with the configured model, limits and both prompts', async () => {
    fake.script({ chunks: ['The Beneficiary ', 'won the **Gold Medal** ', '(Exhibit 2.1.a).'], usage: { prompt_tokens: 812, completion_tokens: 64 } });
    const wf = makeWorkflow('petition', { beneficiary_name: 'Dr. Ada Roe', field: 'computational biology', awards: ['Gold Medal, 2021'] }, [exhibit('2.1.a', 'medal.pdf')]);
    const w = writer({ LLM_MAX_OUTPUT_TOKENS: '900', LLM_TEMPERATURE: '0.2' }, { ...FAST, exhibitText: async () => 'Certificate of the Gold Medal' });
    const { run } = await write(w, { workflow: wf });
    const result = await run;

    expect(fake.requests).toHaveLength(1);
    const { body, headers, url } = fake.requests[0]!;
    expect(url).toBe('/v1/chat/completions');
    expect(headers.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true }, max_tokens: 900, temperature: 0.2 });
    expect(body.messages!.map((m) => m.role)).toEqual(['system', 'user']);
    expect(body.messages![0]!.content).toContain('EB-1A');
    const user = body.messages![1]!.content;
    expect(user).toContain('III. CRITERION 2.1 - AWARDS');
    expect(user).toContain('Beneficiary: Dr. Ada Roe');
    expect(user).toContain('- Exhibit 2.1.a: medal.pdf (application/pdf)');
    expect(user).toContain('> Certificate of the Gold Medal');
    expect(user).not.toMatch(/\{\{\s*\w+\s*\}\}/);

    expect(result).toEqual({
      content_html: '<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>The Beneficiary won the <strong>Gold Medal</strong> (Exhibit 2.1.a).</p>\n',
      tokens_used: 876,
      prompt_tokens: 812,
      completion_tokens: 64,
    });
  });

  it("limits OpenAI's own API by max_completion_tokens, which its reasoning models require", () => {
    const llm = (url: string) => ({ ...llmConfig(url, { LLM_MAX_OUTPUT_TOKENS: '700' }).llm, model: 'm' });
    const openai = new ModelClient(llm('https://api.openai.com/v1')).body({ system: 's', user: 'u' });
    expect(openai).toMatchObject({ max_completion_tokens: 700 });
    expect(openai).not.toHaveProperty('max_tokens');
    const local = new ModelClient(llm('http://localhost:11434/v1')).body({ system: 's', user: 'u' });
    expect(local).toMatchObject({ max_tokens: 700 });
    expect(local).not.toHaveProperty('max_completion_tokens');
  });

  it('reports the section growing, as HTML, chunk by chunk', async () => {
    fake.script({ chunks: ['First ', 'second ', 'third.'] });
    const { run, progress } = await write(writer());
    await run;
    expect(progress).toEqual([
      '<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>First </p>\n',
      '<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>First second </p>\n',
      '<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>First second third.</p>\n',
    ]);
  });

  it('estimates the tokens when the server sends no usage', async () => {
    fake.script({ chunks: ['x'.repeat(400)], usage: null });
    const result = await (await write(writer())).run;
    expect(result.completion_tokens).toBe(100);
    expect(result.prompt_tokens).toBeGreaterThan(500);
    expect(result.tokens_used).toBe(result.prompt_tokens! + result.completion_tokens!);
  });

  it('estimates the tokens when the server reports zeros', async () => {
    fake.script({ chunks: ['x'.repeat(40)], usage: { prompt_tokens: 0, completion_tokens: 0 } });
    const result = await (await write(writer())).run;
    expect(result.completion_tokens).toBe(10);
    expect(result.tokens_used).toBeGreaterThan(10);
  });

  it("passes a throw of the caller's onProgress through, without a retry, and ends the call", async () => {
    fake.script({ chunks: ['a', 'b', 'c'], stallAfter: 2 });
    const w = writer();
    const workflow = makeWorkflow('petition');
    const broken = new Error('caller broke');
    const run = w.write({
      workflow,
      section: workflow.sections[0]!,
      exhibits: [],
      signal: new AbortController().signal,
      onProgress: () => {
        throw broken;
      },
      log: () => {},
    });
    await expect(run).rejects.toBe(broken);
    expect(fake.requests).toHaveLength(1);
    await waitFor(() => fake.clientClosed === 1);
  });

  it('sends no Authorization header to a local server without a key', async () => {
    const config = llmConfig(fake.url);
    config.llm.apiKey = undefined;
    await (await write(writer({}, FAST, config))).run;
    expect(fake.requests[0]!.headers.authorization).toBeUndefined();
  });

  it("keeps the text of an answer cut by the output limit, with a warning", async () => {
    fake.script({ chunks: ['The Beneficiary has'], finishReason: 'length' });
    const { run, lines } = await write(writer({ LLM_MAX_OUTPUT_TOKENS: '1500' }));
    expect((await run).content_html).toContain('The Beneficiary has');
    expect(lines).toEqual([{ level: 'warning', message: 'The model reached its output limit (LLM_MAX_OUTPUT_TOKENS = 1500): the section may end mid-sentence' }]);
  });

  it('reads the prompt files again for every section', async () => {
    const dir = promptsCopy();
    try {
      const w = writer({ PROMPTS_DIR: dir });
      await (await write(w)).run;
      const file = path.join(dir, 'petition', 'awards.md');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\nMention the case {{case_id}} in the last sentence.\n`);
      await (await write(w)).run;
      expect(fake.requests[0]!.body.messages![1]!.content).not.toContain('Mention the case');
      expect(fake.requests[1]!.body.messages![1]!.content).toContain('Mention the case CASE-42 in the last sentence.');

      writeFileSync(file, 'Now {{nonsense}}');
      await expect((await write(w)).run).rejects.toThrow(`Prompt file ${file} uses the unknown placeholder {{nonsense}}`);
      expect(fake.requests).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('retries', () => {
  it('retries a 429 after its Retry-After, with a warning naming status and wait', async () => {
    fake.script({ status: 429, headers: { 'retry-after': '1' } }, { chunks: ['Done.'] });
    const { run, lines } = await write(writer());
    expect((await run).content_html).toContain('Done.');
    expect(fake.requests).toHaveLength(2);
    expect(lines).toEqual([{ level: 'warning', message: 'The model API answered 429; retrying in 1.0 s (attempt 2 of 5)' }]);
  });

  it('drops the text of an attempt cut mid-stream and starts the section again', async () => {
    fake.script({ chunks: ['Lost ', 'words ', 'here'], cutAfter: 2 }, { chunks: ['Kept ', 'words.'] });
    const { run, progress, lines } = await write(writer());
    const result = await run;
    expect(result.content_html).toContain('Kept words.');
    expect(result.content_html).not.toContain('Lost');
    const lost = '<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>Lost words </p>\n';
    expect(progress).toContain(lost);
    expect(progress[progress.indexOf(lost) + 1]).toBe('<h2>III. CRITERION 2.1 - AWARDS</h2>\n');
    expect(progress.at(-1)).toBe('<h2>III. CRITERION 2.1 - AWARDS</h2>\n<p>Kept words.</p>\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(/^The model API cut the answer off before its end; retrying in \d\.\d s \(attempt 2 of 5\)$/);
  });

  it('retries a stream that ends without a finish, and one that sends an error mid-stream', async () => {
    fake.script({ chunks: ['half'], finishReason: null, usage: null, done: false }, { chunks: ['a'], streamError: true }, { chunks: ['Whole.'] });
    const { run, lines } = await write(writer());
    expect((await run).content_html).toContain('Whole.');
    expect(lines.map((l) => l.message.split(';')[0])).toEqual([
      'The model API cut the answer off before its end',
      'The model API reported an error in the middle of the answer',
    ]);
  });

  it('gives up on a 5xx after LLM_MAX_RETRIES retries, naming the cause', async () => {
    fake.script(...Array.from({ length: 5 }, () => ({ status: 500 })));
    const { run, lines } = await write(writer());
    await expect(run).rejects.toThrow(/^The model API kept failing \(500\) after 5 attempts$/);
    expect(fake.requests).toHaveLength(5);
    expect(lines.map((l) => l.message.replace(/retrying in \d+\.\d s/, 'retrying in N s'))).toEqual([2, 3, 4, 5].map((n) => `The model API answered 500; retrying in N s (attempt ${n} of 5)`));
  });

  it('does not retry a refused key', async () => {
    fake.script({ status: 401, error: { message: `Incorrect API key provided: ${TEST_KEY}` } });
    const { run, lines } = await write(writer());
    await expect(run).rejects.toThrow(/^The model API refused the key \(401\)$/);
    expect(fake.requests).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  it.each([
    [400, 'The model API rejected the request (400: unsupported_value on temperature)'],
    [403, 'The model API refused access to the model "test-model" (403)'],
    [404, 'The model API does not know the model "test-model" or the URL (404)'],
  ])('does not retry %i', async (status, message) => {
    fake.script({ status, error: { code: 'unsupported_value', param: 'temperature' } });
    await expect((await write(writer())).run).rejects.toThrow(message);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a content-filter finish', async () => {
    fake.script({ chunks: ['Some'], finishReason: 'content_filter' });
    await expect((await write(writer())).run).rejects.toThrow("The model's content filter stopped the answer");
    expect(fake.requests).toHaveLength(1);
  });

  it('fails an answer with no text, saying so', async () => {
    fake.script({ chunks: [], finishReason: 'length' });
    await expect((await write(writer())).run).rejects.toThrow('The model spent its whole output budget (LLM_MAX_OUTPUT_TOKENS) before writing any text');
  });

  it('gives up on a server that stops sending, closing each stalled connection', async () => {
    fake.script({ chunks: ['a', 'b'], stallAfter: 1 }, { chunks: [], stallAfter: 0 });
    const { run, lines } = await write(writer({ LLM_IDLE_TIMEOUT_MS: '200', LLM_MAX_RETRIES: '1' }));
    await expect(run).rejects.toThrow(/^The model stopped answering \(no data for 0\.2 s\) after 2 attempts$/);
    expect(lines[0]!.message).toMatch(/^The model stopped answering \(no data for 0\.2 s\); retrying in/);
    await waitFor(() => fake.clientClosed === 2);
  });

  it('gives up on a call longer than LLM_TIMEOUT_MS', async () => {
    fake.script({ chunks: Array.from({ length: 50 }, () => 'word '), chunkDelayMs: 20 });
    await expect((await write(writer({ LLM_TIMEOUT_MS: '200', LLM_MAX_RETRIES: '0' }))).run).rejects.toThrow(/^The model did not finish within 0\.2 s$/);
    await waitFor(() => fake.clientClosed === 1);
  });

  it('names a model API that cannot be reached', async () => {
    const gone = await FakeOpenAI.start();
    const url = gone.url;
    await gone.close();
    const w = createModelWriter(llmConfig(url, { LLM_MAX_RETRIES: '1' }), silent, FAST);
    await expect((await write(w)).run).rejects.toThrow(/^The model API could not be reached \(ECONNREFUSED\) after 2 attempts$/);
  });
});

describe('stopping a call', () => {
  it('closes the connection at once when the section is aborted mid-stream', async () => {
    fake.script({ chunks: ['a', 'b', 'c'], stallAfter: 1 });
    const controller = new AbortController();
    const { run, progress } = await write(writer(), { signal: controller.signal });
    await waitFor(() => progress.length === 1);
    const reason = new Error('deleted');
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    await waitFor(() => fake.clientClosed === 1);
  });

  it('stops waiting for a retry when aborted', async () => {
    fake.script({ status: 503, headers: { 'retry-after': '30' } });
    const controller = new AbortController();
    const { run, lines } = await write(writer(), { signal: controller.signal });
    await waitFor(() => lines.length === 1);
    expect(lines[0]!.message).toBe('The model API answered 503; retrying in 30.0 s (attempt 2 of 5)');
    controller.abort(new Error('shutting down'));
    await expect(run).rejects.toThrow('shutting down');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('the concurrency limit', () => {
  it('keeps at most LLM_MAX_CONCURRENCY calls in flight; the others wait in order and say so', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    fake.defaultReply = { chunks: ['one ', 'two'], hold: gate };
    try {
      const w = writer({ LLM_MAX_CONCURRENCY: '2' });
      const writes = [];
      // One after the other, each in its place (a call, or the queue) before the next asks.
      for (const [i, sectionId] of ['intro', 'background', 'awards', 'membership'].entries()) {
        const x = await write(w, { sectionId });
        writes.push(x);
        await waitFor(() => (i < 2 ? fake.requests.length === i + 1 : x.lines.length === 1));
      }
      expect(fake.requests).toHaveLength(2);
      expect(writes.map((x) => x.lines)).toEqual([
        [],
        [],
        [{ level: 'info', message: 'Waiting for the model (0 ahead)' }],
        [{ level: 'info', message: 'Waiting for the model (1 ahead)' }],
      ]);
      open();
      await Promise.all(writes.map((x) => x.run));
      expect(fake.maxInFlight).toBe(2);
      const order = fake.requests.map((r) => r.body.messages![1]!.content.match(/section "([^"]+)"/)?.[1]);
      expect(order.slice(2)).toEqual(['III. CRITERION 2.1 - AWARDS', 'IV. CRITERION 2.2 - MEMBERSHIPS']);
    } finally {
      fake.defaultReply = { chunks: ['Hello ', 'world.'] };
    }
  });

  it('lets an aborted waiter leave the queue without a call', async () => {
    let open!: () => void;
    fake.script({ chunks: ['held'], hold: new Promise<void>((resolve) => (open = resolve)) });
    const w = writer({ LLM_MAX_CONCURRENCY: '1' });
    const first = await write(w, { sectionId: 'intro' });
    await waitFor(() => fake.requests.length === 1);
    const controller = new AbortController();
    const quitter = await write(w, { sectionId: 'background', signal: controller.signal });
    await waitFor(() => quitter.lines.length === 1);
    const third = await write(w, { sectionId: 'awards' });
    await waitFor(() => third.lines.length === 1);
    controller.abort(new Error('deleted'));
    await expect(quitter.run).rejects.toThrow('deleted');
    open();
    await first.run;
    await third.run;
    expect(fake.requests).toHaveLength(2);
    expect(third.lines).toEqual([{ level: 'info', message: 'Waiting for the model (1 ahead)' }]);
  });
});
