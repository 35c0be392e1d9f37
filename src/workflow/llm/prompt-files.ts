import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DOCUMENT_SECTIONS } from '../../domain/document-types.js';
import { DOCUMENT_TYPES, type DocumentType } from '../../domain/types.js';
import { unknownPlaceholders } from './template.js';

/** Every placeholder a prompt file may use (see `prompts/README.md` for what each holds). */
export const PROMPT_PLACEHOLDERS = [
  'case_id',
  'document_type',
  'section_name',
  'section_id',
  'case_facts',
  'beneficiary_name',
  'field',
  'earlier_sections',
  'exhibits',
] as const;

export type PromptValues = Record<(typeof PROMPT_PLACEHOLDERS)[number], string>;

export interface PromptPair {
  system: string;
  user: string;
}

/** A prompt file that is missing, empty, unreadable or uses a placeholder the filler does not know. */
export class PromptFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptFileError';
  }
}

/**
 * The prompt templates under `PROMPTS_DIR`: `<document_type>/system.md` and `<document_type>/<section_id>.md`.
 * They are plain files a user edits without a rebuild: `read` loads them again for every section, so an edit
 * applies from the next section written. The constructor checks every file once, so a server with a missing
 * file or an unknown placeholder does not start.
 */
export class PromptFiles {
  constructor(private readonly dir: string) {
    for (const type of DOCUMENT_TYPES) {
      for (const file of this.filesOf(type)) check(file, readNow(file));
    }
  }

  /** The system and user templates of one section, read from disk now. */
  async read(type: DocumentType, sectionId: string): Promise<PromptPair> {
    const [system, user] = await Promise.all(
      [this.systemFile(type), this.sectionFile(type, sectionId)].map(async (file) => check(file, await readLater(file))),
    );
    return { system: system!, user: user! };
  }

  private filesOf(type: DocumentType): string[] {
    return [this.systemFile(type), ...DOCUMENT_SECTIONS[type].map((s) => this.sectionFile(type, s.id))];
  }

  private systemFile(type: DocumentType): string {
    return path.join(this.dir, type, 'system.md');
  }

  private sectionFile(type: DocumentType, sectionId: string): string {
    return path.join(this.dir, type, `${sectionId}.md`);
  }
}

function check(file: string, text: string): string {
  if (!text.trim()) throw new PromptFileError(`Prompt file ${file} is empty`);
  const unknown = unknownPlaceholders(text, PROMPT_PLACEHOLDERS);
  if (unknown.length) {
    const names = (list: readonly string[]) => list.map((n) => `{{${n}}}`).join(', ');
    throw new PromptFileError(
      `Prompt file ${file} uses the unknown placeholder${unknown.length > 1 ? 's' : ''} ${names(unknown)} (known: ${names(PROMPT_PLACEHOLDERS)})`,
    );
  }
  return text;
}

function readNow(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
}

async function readLater(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
}

function unreadable(file: string, err: unknown): PromptFileError {
  const code = (err as NodeJS.ErrnoException).code;
  return new PromptFileError(
    code === 'ENOENT' ? `Prompt file ${file} is missing (PROMPTS_DIR)` : `Prompt file ${file} cannot be read (${code ?? 'error'})`,
  );
}
