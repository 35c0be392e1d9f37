import type { Exhibit, LogLevel, Section, Workflow } from '../domain/types.js';

export interface SectionWriteInput {
  workflow: Workflow;
  section: Section;
  /** The exhibits uploaded so far, in upload order. */
  exhibits: Exhibit[];
  /** Aborted on shutdown, deletion or lease loss: the writer must stop promptly (reject). */
  signal: AbortSignal;
  /**
   * A streaming writer calls this with the whole section so far, as HTML, each time it grows. The runner
   * sanitizes and saves it (section still `in_progress`) at most every `LLM_FLUSH_MS`; calls in between
   * only replace what the next save will write. Writers that produce the section at once never call it.
   */
  onProgress?: (partial: { content_html: string }) => void;
  /** Adds a line to the workflow's log (a retry, a wait for a model slot, a truncated answer). */
  log: (level: LogLevel, message: string) => void;
}

export interface SectionWriteResult {
  /** HTML; the runner sanitizes it to the allow-list before storing. */
  content_html: string;
  tokens_used: number;
  /** The model call's usage, when the writer called a model. */
  prompt_tokens?: number;
  completion_tokens?: number;
}

/**
 * Writes one section of a document. The template writer composes formal prose locally; the model writer
 * streams it from an OpenAI-compatible API. A rejection other than an abort marks the section and the
 * workflow `error`, with the error's message (which therefore must be fit for the user: no key, no prompt).
 */
export interface SectionWriter {
  write(input: SectionWriteInput): Promise<SectionWriteResult>;
}

/** Rough size in model tokens of a text `length` characters long (about four characters per token of prose). */
export function estimateTokens(length: number): number {
  return Math.max(1, Math.ceil(length / 4));
}
