import type { Section, WorkflowHead } from '../workflow/types.js';
import type { NewWorkflow, SectionPatch, Transition } from './workflow-store.js';

// Copies here use Object.assign, not object spread: on Node 20 (V8 11.3) `{ ...obj }` gives nearly every copy a
// hidden class of its own once warm, so each store write left a new map and descriptor array in the old
// generation and made every property access megamorphic (V8's --log-maps; bench scenario 4).

/** The head a new workflow starts with: version 0, no progress, timing running when it starts generating. */
export function initialHead(workflow: NewWorkflow): WorkflowHead {
  const { head, sections } = workflow;
  return Object.assign({}, head, {
    case_facts: head.case_facts ?? null,
    updated_at: head.created_at,
    error_message: null,
    version: 0,
    total_sections: sections.length,
    completed_sections: 0,
    completed_ms: 0,
    total_tokens: 0,
    active_ms: 0,
    generating_since: head.status === 'generating' ? Date.parse(head.created_at) : null,
  });
}

/**
 * How a status change moves the timing fields: time counts only while `generating`. Shared by the memory
 * store and mirrored by the Redis scripts (the contract suite checks both agree).
 */
export function applyTransition(head: WorkflowHead, t: Transition): WorkflowHead {
  const next: WorkflowHead = Object.assign({}, head, { status: t.to });
  if (head.generating_since !== null && t.to !== 'generating') {
    next.active_ms = head.active_ms + Math.max(0, t.at - head.generating_since);
    next.generating_since = null;
  } else if (head.generating_since === null && t.to === 'generating') {
    next.generating_since = t.at;
  }
  if (t.to === 'error') next.error_message = t.errorMessage ?? 'Document generation failed';
  return next;
}

/** A section change and its effect on the head's aggregates (counted once per completion). */
export function applySectionPatch<H extends WorkflowHead>(
  head: H,
  section: Section,
  patch: SectionPatch,
): { head: H; section: Section } {
  const next: Section = Object.assign({}, section, { status: patch.status, updated_at: patch.updated_at });
  if (patch.content_html !== undefined) next.content_html = patch.content_html;
  if (patch.tokens_used !== undefined) next.tokens_used = patch.tokens_used;
  if (patch.duration_ms !== undefined) next.duration_ms = patch.duration_ms;
  if (patch.error_message !== undefined) next.error_message = patch.error_message;
  else if (patch.status !== 'error') delete next.error_message;

  let nextHead = head;
  const wasCompleted = section.status === 'completed';
  const isCompleted = next.status === 'completed';
  if (wasCompleted !== isCompleted) {
    const sign = isCompleted ? 1 : -1;
    nextHead = Object.assign({}, head, {
      completed_sections: head.completed_sections + sign,
      completed_ms: head.completed_ms + sign * (isCompleted ? next.duration_ms ?? 0 : section.duration_ms ?? 0),
      total_tokens: head.total_tokens + sign * (isCompleted ? next.tokens_used : section.tokens_used),
    });
  }
  return { head: nextHead, section: next };
}
