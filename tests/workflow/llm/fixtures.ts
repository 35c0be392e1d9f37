import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../../src/config.js';
import { initialSections } from '../../../src/domain/document-types.js';
import type { CaseFacts, DocumentType, Exhibit, LogLevel, Workflow } from '../../../src/domain/types.js';

/** A key the tests look for in every log line and message: it must never appear. */
export const TEST_KEY = 'sk-test-5ecr3t-Key-0123456789abcdef';

/** The prompts shipped in the repository. */
export const PROMPTS_DIR = path.resolve('prompts');

/** A copy of the shipped prompts the test may edit. */
export function promptsCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'prompts-'));
  cpSync(PROMPTS_DIR, dir, { recursive: true });
  return dir;
}

export function llmConfig(baseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    WRITER: 'openai',
    LLM_BASE_URL: baseUrl,
    LLM_API_KEY: TEST_KEY,
    LLM_MODEL: 'test-model',
    LLM_IDLE_TIMEOUT_MS: '2000',
    LLM_TIMEOUT_MS: '10000',
    PROMPTS_DIR,
    ...env,
  });
}

export const silent: Logger = pino({ level: 'silent' });

/** A pino logger at `trace` that keeps every line it writes. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), lines };
}

export function makeWorkflow(type: DocumentType = 'petition', facts: CaseFacts | null = null, exhibits: Exhibit[] = []): Workflow {
  const at = new Date().toISOString();
  const sections = initialSections(type, at);
  return {
    thread_id: '6f1c1d7e-2f0a-4b7c-9a55-0d5f3c2b9e11',
    case_id: 'CASE-42',
    user_id: 'user-1',
    document_type: type,
    case_facts: facts,
    status: 'generating',
    created_at: at,
    updated_at: at,
    error_message: null,
    version: 1,
    total_sections: sections.length,
    completed_sections: 0,
    completed_ms: 0,
    total_tokens: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    active_ms: 0,
    generating_since: Date.now(),
    sections,
    exhibits,
    logs: [],
  };
}

export function exhibit(id: string, filename = `${id}.pdf`, extra: Partial<Exhibit> = {}): Exhibit {
  return {
    exhibit_id: id,
    filename,
    stored_name: `${id}_${filename}`,
    file_path: `/api/exhibits/x/${id}_${filename}`,
    file_size: 100,
    mime_type: 'application/pdf',
    uploaded_at: new Date().toISOString(),
    ...extra,
  };
}

/** The `log` callback of a write, keeping the lines. */
export function logLines(): { log: (level: LogLevel, message: string) => void; lines: Array<{ level: LogLevel; message: string }> } {
  const lines: Array<{ level: LogLevel; message: string }> = [];
  return { log: (level, message) => lines.push({ level, message }), lines };
}
