import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createModelWriter } from '../../../src/workflow/llm/model-writer.js';
import { FakeOpenAI, type FakeReply } from '../../helpers/fake-openai.js';
import { capturingLogger, llmConfig, logLines, makeWorkflow, TEST_KEY } from './fixtures.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());

const CONSOLE = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
let restoreEnv: string | undefined;
const printed: unknown[][] = [];
beforeAll(() => {
  // The SDK would log requests (headers included) to the console at this level, unless told not to log at all.
  restoreEnv = process.env.OPENAI_LOG;
  process.env.OPENAI_LOG = 'debug';
  for (const method of CONSOLE) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args));
});
afterAll(() => {
  if (restoreEnv === undefined) delete process.env.OPENAI_LOG;
  else process.env.OPENAI_LOG = restoreEnv;
  vi.restoreAllMocks();
});
afterEach(() => {
  fake.requests.length = 0;
});

const FACTS = { beneficiary_name: 'Dr. Unique Beneficiary-Name', field: 'a field named Zyxwv' };

describe('the API key', () => {
  it.each<[string, FakeReply[]]>([
    ['a refused key that the API echoes', [{ status: 401, error: { message: `Incorrect API key provided: ${TEST_KEY}`, code: 'invalid_api_key' } }]],
    ['server errors until the last try', [{ status: 500 }, { status: 500 }, { status: 500 }]],
    ['a stream cut and a stall', [{ chunks: ['a', 'b'], cutAfter: 1 }, { chunks: ['a'], stallAfter: 0 }, { chunks: ['a'], stallAfter: 0 }]],
    ['an error object mid-stream', [{ chunks: ['a'], streamError: true }, { status: 503, error: { message: `key ${TEST_KEY}` } }, { status: 429 }]],
    ['a finished section', [{ chunks: ['All ', 'good.'] }]],
  ])('never appears in a log line, a message or an error: %s', async (_name, replies) => {
    fake.script(...replies);
    const { logger, lines } = capturingLogger();
    const writer = createModelWriter(llmConfig(fake.url, { LLM_MAX_RETRIES: '2', LLM_IDLE_TIMEOUT_MS: '150', LOG_LEVEL: 'trace' }), logger, {
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    const workflow = makeWorkflow('petition', FACTS);
    const { log, lines: workflowLines } = logLines();
    let thrown: unknown = null;
    try {
      await writer.write({ workflow, section: workflow.sections[0]!, exhibits: [], signal: new AbortController().signal, log });
    } catch (err) {
      thrown = err;
      logger.warn({ err }, 'section writer failed'); // as the runner logs it
    }

    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${TEST_KEY}`); // it was used
    expect(lines.length).toBeGreaterThan(0);
    const seen = [
      ...lines,
      ...workflowLines.map((l) => l.message),
      thrown instanceof Error ? `${thrown.message}\n${thrown.stack}\n${JSON.stringify(thrown)}` : '',
    ].join('\n');
    expect(seen).not.toContain(TEST_KEY);
    expect(seen).not.toContain('sk-test');
    // Nor the prompt: case facts and prompt text stay out of logs and messages.
    expect(seen).not.toContain('Unique Beneficiary-Name');
    expect(seen).not.toContain('Zyxwv');
    expect(seen).not.toContain('immigration attorney');
    expect(printed).toEqual([]);
  });
});
