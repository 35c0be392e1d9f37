import type { Exhibit, Section, Workflow } from '../domain/types.js';

export interface SectionWriteInput {
  workflow: Workflow;
  section: Section;
  /** The exhibits uploaded so far, in upload order. */
  exhibits: Exhibit[];
  /** Aborted on shutdown, deletion or lease loss: the writer must stop promptly (reject). */
  signal: AbortSignal;
}

export interface SectionWriteResult {
  /** HTML; the runner sanitizes it to the allow-list before storing. */
  content_html: string;
  tokens_used: number;
}

/**
 * Writes one section of a document. Implementations may call a model; the default one composes formal
 * prose locally. A rejection other than an abort marks the section and the workflow `error`.
 */
export interface SectionWriter {
  write(input: SectionWriteInput): Promise<SectionWriteResult>;
}

/** Rough size in model tokens of a text `length` characters long (about four characters per token of prose). */
export function estimateTokens(length: number): number {
  return Math.max(1, Math.ceil(length / 4));
}
