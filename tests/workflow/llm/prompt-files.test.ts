import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCUMENT_SECTIONS } from '../../../src/domain/document-types.js';
import { DOCUMENT_TYPES } from '../../../src/domain/types.js';
import { createModelWriter } from '../../../src/workflow/llm/model-writer.js';
import { PROMPT_PLACEHOLDERS, PromptFiles } from '../../../src/workflow/llm/prompt-files.js';
import { placeholdersOf } from '../../../src/workflow/llm/template.js';
import { llmConfig, PROMPTS_DIR, promptsCopy, silent } from './fixtures.js';

const copies: string[] = [];
const copy = () => {
  const dir = promptsCopy();
  copies.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the prompt files shipped in prompts/', () => {
  it('cover every document type and section, with known placeholders only', async () => {
    const files = new PromptFiles(PROMPTS_DIR);
    for (const type of DOCUMENT_TYPES) {
      for (const section of DOCUMENT_SECTIONS[type]) {
        const { system, user } = await files.read(type, section.id);
        expect(system.length).toBeGreaterThan(500);
        expect(user).toMatch(/\{\{/);
      }
    }
  });

  it('ask for Markdown, exhibit citations and placeholders instead of invented facts', () => {
    for (const type of DOCUMENT_TYPES) {
      const system = readFileSync(path.join(PROMPTS_DIR, type, 'system.md'), 'utf8');
      expect(system).toMatch(/Markdown/);
      expect(system).toContain('"Exhibit 2.1.a"');
      expect(system).toMatch(/Never invent/);
      expect(system).toMatch(/\[date\]/);
    }
  });

  it('name the regulation each criterion section argues', () => {
    const user = (id: string) => readFileSync(path.join(PROMPTS_DIR, 'petition', `${id}.md`), 'utf8');
    expect(user('awards')).toContain('8 C.F.R. § 204.5(h)(3)(i)');
    expect(user('membership')).toContain('8 C.F.R. § 204.5(h)(3)(ii)');
    expect(user('publications')).toContain('8 C.F.R. § 204.5(h)(3)(vi)');
    expect(readFileSync(path.join(PROMPTS_DIR, 'petition', 'system.md'), 'utf8')).toContain('Kazarian v. USCIS, 596 F.3d 1115');
  });

  it('use between them every placeholder the filler knows', () => {
    const used = new Set<string>();
    for (const type of DOCUMENT_TYPES) {
      for (const id of ['system', ...DOCUMENT_SECTIONS[type].map((s) => s.id)]) {
        for (const name of placeholdersOf(readFileSync(path.join(PROMPTS_DIR, type, `${id}.md`), 'utf8'))) used.add(name);
      }
    }
    expect([...used].sort()).toEqual(PROMPT_PLACEHOLDERS.filter((p) => p !== 'document_type' && p !== 'section_id').sort());
  });
});

describe('a broken prompt file stops the writer at start', () => {
  it('names the file and the unknown placeholder', () => {
    const dir = copy();
    const file = path.join(dir, 'petition', 'awards.md');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n{{beneficiary_nmae}}\n`);
    expect(() => createModelWriter(llmConfig('http://127.0.0.1:9/v1', { PROMPTS_DIR: dir }), silent)).toThrow(
      `Prompt file ${file} uses the unknown placeholder {{beneficiary_nmae}}`,
    );
  });

  it('names a missing file', () => {
    const dir = copy();
    const file = path.join(dir, 'memo', 'system.md');
    rmSync(file);
    expect(() => createModelWriter(llmConfig('http://127.0.0.1:9/v1', { PROMPTS_DIR: dir }), silent)).toThrow(`Prompt file ${file} is missing`);
  });

  it('names an empty file', () => {
    const dir = copy();
    const file = path.join(dir, 'letter', 'closing.md');
    writeFileSync(file, ' \n');
    expect(() => createModelWriter(llmConfig('http://127.0.0.1:9/v1', { PROMPTS_DIR: dir }), silent)).toThrow(`Prompt file ${file} is empty`);
  });

  it('starts with the shipped prompts', () => {
    expect(() => createModelWriter(llmConfig('http://127.0.0.1:9/v1'), silent)).not.toThrow();
  });
});
