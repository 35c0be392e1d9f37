import type { WorkflowHead } from './types.js';

export interface PreviewMetadata {
  total_sections: number;
  completed_sections: number;
  progress_percentage: number;
  elapsed_time: number;
  estimated_remaining: number;
  total_tokens: number;
  estimated_cost: number;
}

export interface MetadataSettings {
  costPer1kTokens: number;
  /** Expected writing time of one section, used before the first one completes. */
  expectedSectionMs: number;
}

/** Milliseconds spent generating: paused time does not count, and it stops at completion or error. */
export function activeMs(head: WorkflowHead, now: number): number {
  return head.active_ms + (head.generating_since === null ? 0 : Math.max(0, now - head.generating_since));
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
    estimated_cost: Math.round((head.total_tokens / 1000) * settings.costPer1kTokens * 1e6) / 1e6,
  };
}
