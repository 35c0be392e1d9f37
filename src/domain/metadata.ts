import type { WorkflowHead } from './types.js';

export interface PreviewMetadata {
  total_sections: number;
  completed_sections: number;
  progress_percentage: number;
  elapsed_time: number;
  estimated_remaining: number;
  total_tokens: number;
  estimated_cost: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface MetadataSettings {
  /** USD per 1,000 tokens of any kind: the price when the two below are not both set. */
  costPer1kTokens: number;
  /** USD per 1,000 prompt and per 1,000 completion tokens; when both are set they price the cost. */
  priceInputPer1k?: number;
  priceOutputPer1k?: number;
  /** Expected writing time of one section, used before the first one completes. */
  expectedSectionMs: number;
}

/** Milliseconds spent generating: paused time does not count, and it stops at completion or error. */
export function activeMs(head: WorkflowHead, now: number): number {
  return head.active_ms + (head.generating_since === null ? 0 : Math.max(0, now - head.generating_since));
}

/** USD for the completed sections' tokens, rounded to a millionth. */
export function estimatedCost(head: WorkflowHead, settings: MetadataSettings): number {
  const { priceInputPer1k: input, priceOutputPer1k: output } = settings;
  const usd =
    input !== undefined && output !== undefined
      ? (head.prompt_tokens / 1000) * input + (head.completion_tokens / 1000) * output
      : (head.total_tokens / 1000) * settings.costPer1kTokens;
  return Math.round(usd * 1e6) / 1e6;
}

/** Derives the preview's `metadata` from the head alone (no sections needed). */
export function computeMetadata(head: WorkflowHead, now: number, settings: MetadataSettings): PreviewMetadata {
  const total = head.total_sections;
  const done = head.completed_sections;
  const finished = head.status === 'completed' || head.status === 'error';
  const meanMs = done > 0 ? head.completed_ms / done : settings.expectedSectionMs;
  return {
    total_sections: total,
    completed_sections: done,
    progress_percentage: total === 0 ? 0 : Math.round((done / total) * 1000) / 10,
    elapsed_time: Math.floor(activeMs(head, now) / 1000),
    estimated_remaining: finished ? 0 : Math.round((meanMs * (total - done)) / 1000),
    total_tokens: head.total_tokens,
    estimated_cost: estimatedCost(head, settings),
    prompt_tokens: head.prompt_tokens,
    completion_tokens: head.completion_tokens,
  };
}
