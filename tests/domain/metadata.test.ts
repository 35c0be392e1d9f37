import { describe, expect, it } from 'vitest';
import { computeMetadata, estimatedCost } from '../../src/domain/metadata.js';
import type { WorkflowHead } from '../../src/domain/types.js';

const head = (extra: Partial<WorkflowHead> = {}): WorkflowHead => ({
  thread_id: 't', case_id: 'c', user_id: 'u', document_type: 'petition', case_facts: null, status: 'generating',
  created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', error_message: null, version: 9,
  total_sections: 5, completed_sections: 2, completed_ms: 8000, total_tokens: 3000, prompt_tokens: 2000, completion_tokens: 1000,
  active_ms: 1500, generating_since: 10_000, ...extra,
});

describe('preview metadata', () => {
  it('prices prompt and completion tokens apart when both prices are set', () => {
    const settings = { costPer1kTokens: 0.5, priceInputPer1k: 0.0025, priceOutputPer1k: 0.01, expectedSectionMs: 3000 };
    expect(estimatedCost(head(), settings)).toBe(0.015); // 2 × 0.0025 + 1 × 0.01
  });

  it('falls back to COST_PER_1K_TOKENS over total_tokens unless both prices are set', () => {
    for (const prices of [{}, { priceInputPer1k: 0.0025 }, { priceOutputPer1k: 0.01 }]) {
      expect(estimatedCost(head(), { costPer1kTokens: 0.01, expectedSectionMs: 0, ...prices })).toBe(0.03);
    }
  });

  it('reports the token sums, the time spent generating and what remains', () => {
    const metadata = computeMetadata(head(), 12_600, { costPer1kTokens: 0.01, expectedSectionMs: 3000 });
    expect(metadata).toEqual({
      total_sections: 5,
      completed_sections: 2,
      progress_percentage: 40,
      elapsed_time: 4, // 1.5 s before this span, 2.6 s in it
      estimated_remaining: 12, // 4 s per completed section × 3 left
      total_tokens: 3000,
      estimated_cost: 0.03,
      prompt_tokens: 2000,
      completion_tokens: 1000,
    });
  });
});
