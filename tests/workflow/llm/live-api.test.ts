import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createModelWriter } from '../../../src/workflow/llm/model-writer.js';
import { exhibit, logLines, makeWorkflow, PROMPTS_DIR } from './fixtures.js';

/**
 * Against a real OpenAI-compatible API, only when asked: LLM_TEST_BASE_URL, LLM_TEST_API_KEY and
 * LLM_TEST_MODEL (e.g. https://api.openai.com/v1, a key, gpt-4o-mini). It writes one short petition section.
 */
const baseUrl = process.env.LLM_TEST_BASE_URL;
const apiKey = process.env.LLM_TEST_API_KEY;
const model = process.env.LLM_TEST_MODEL;
const enabled = Boolean(baseUrl && apiKey && model);
if (!enabled) console.info('live model API test skipped: set LLM_TEST_BASE_URL, LLM_TEST_API_KEY and LLM_TEST_MODEL to run it');

describe('the model writer against a real API', () => {
  it.skipIf(!enabled)(
    'streams a cited awards section and reports its usage',
    async () => {
      const config = loadConfig({
        WRITER: 'openai',
        LLM_BASE_URL: baseUrl,
        LLM_API_KEY: apiKey,
        LLM_MODEL: model,
        LLM_MAX_OUTPUT_TOKENS: '400',
        LLM_MAX_RETRIES: '2',
        PROMPTS_DIR,
      });
      const writer = createModelWriter(config, pino({ level: 'silent' }));
      const exhibits = [exhibit('2.1.a', 'acm_fellowship_award_2022.pdf')];
      const workflow = makeWorkflow('petition', { beneficiary_name: 'Dr. Ada Roe', field: 'computational biology', awards: ['ACM Prize in Computing, 2022'] }, exhibits);
      const { log } = logLines();
      let updates = 0;
      const result = await writer.write({
        workflow,
        section: workflow.sections.find((s) => s.section_id === 'awards')!,
        exhibits,
        signal: AbortSignal.timeout(120_000),
        onProgress: () => updates++,
        log,
      });
      expect(result.content_html).toMatch(/^<h2>III\. CRITERION 2\.1 - AWARDS<\/h2>\n<(p|h3|h4|ul|ol)>/);
      expect(result.content_html).toContain('2.1.a');
      expect(updates).toBeGreaterThan(1);
      expect(result.prompt_tokens).toBeGreaterThan(100);
      expect(result.completion_tokens).toBeGreaterThan(20);
      expect(result.tokens_used).toBe(result.prompt_tokens! + result.completion_tokens!);
    },
    180_000,
  );
});
