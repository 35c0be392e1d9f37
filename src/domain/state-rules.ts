import type { Section, Workflow, WorkflowHead } from './types.js';
import type { NewWorkflow, SectionPatch, Transition } from '../store/workflow-store.js';

// Copies are object literals naming every field, in one order. `Object.assign({}, obj)` kept four fields in the
// object and the rest in a separate property array (one heap object more per head and section: 160,000 of
// 2 million live objects with 10,000 petitions generating, each walked by every full collection), and object
// spread gave nearly every copy a hidden class of its own on Node 20 (V8's --log-maps; bench scenario 4).

/** A copy of the head's own fields. */
export function copyHead(h: WorkflowHead): WorkflowHead {
  return {
    thread_id: h.thread_id,
    case_id: h.case_id,
    user_id: h.user_id,
    document_type: h.document_type,
    case_facts: h.case_facts,
    status: h.status,
    created_at: h.created_at,
    updated_at: h.updated_at,
    error_message: h.error_message,
    version: h.version,
    total_sections: h.total_sections,
    completed_sections: h.completed_sections,
    completed_ms: h.completed_ms,
    total_tokens: h.total_tokens,
    active_ms: h.active_ms,
    generating_since: h.generating_since,
  };
}

/** A workflow of a head's fields and the parts given (three fields outside the object itself, not fifteen). */
export function workflowOf(h: WorkflowHead, parts: Pick<Workflow, 'sections' | 'exhibits' | 'logs'>): Workflow {
  return Object.assign(copyHead(h), parts);
}

/** The newest `n` log lines of a window, oldest first; none for 0 (where `slice(-0)` would give them all). */
export function newestLogs<T>(logs: T[], n: number): T[] {
  return n > 0 ? logs.slice(-n) : [];
}

/**
 * A copy of a section: every field of `Section`, internal ones included (the preview's public shape is
 * `sectionView` in preview-shape.ts). The optional fields are always keys, `undefined` when unset: JSON leaves
 * them out, and one shape for every section keeps them all in the object itself. `satisfies` makes a field
 * added to `Section` a compile error here rather than a field the store silently drops.
 */
export function copySection(s: Section): Section {
  return {
    section_id: s.section_id,
    section_name: s.section_name,
    section_order: s.section_order,
    status: s.status,
    content_html: s.content_html,
    updated_at: s.updated_at,
    tokens_used: s.tokens_used,
    error_message: s.error_message,
    duration_ms: s.duration_ms,
    prompt_tokens: s.prompt_tokens,
    completion_tokens: s.completion_tokens,
    citations: s.citations,
    unknown_citations: s.unknown_citations,
  } satisfies Record<keyof Section, unknown>;
}

/** The head a new workflow starts with: version 0, no progress, timing running when it starts generating. */
export function initialHead(workflow: NewWorkflow): WorkflowHead {
  const { head, sections } = workflow;
  return {
    thread_id: head.thread_id,
    case_id: head.case_id,
    user_id: head.user_id,
    document_type: head.document_type,
    case_facts: head.case_facts ?? null,
    status: head.status,
    created_at: head.created_at,
    updated_at: head.created_at,
    error_message: null,
    version: 0,
    total_sections: sections.length,
    completed_sections: 0,
    completed_ms: 0,
    total_tokens: 0,
    active_ms: 0,
    generating_since: head.status === 'generating' ? Date.parse(head.created_at) : null,
  };
}

/**
 * How a status change moves the timing fields: time counts only while `generating`. Shared by the memory
 * store and mirrored by the Redis scripts (the contract suite checks both agree).
 */
export function applyTransition(head: WorkflowHead, t: Transition): WorkflowHead {
  const next = copyHead(head);
  next.status = t.to;
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
export function applySectionPatch(
  head: WorkflowHead,
  section: Section,
  patch: SectionPatch,
): { head: WorkflowHead; section: Section } {
  const next = copySection(section);
  next.status = patch.status;
  next.updated_at = patch.updated_at;
  if (patch.content_html !== undefined) next.content_html = patch.content_html;
  if (patch.tokens_used !== undefined) next.tokens_used = patch.tokens_used;
  if (patch.duration_ms !== undefined) next.duration_ms = patch.duration_ms;
  if (patch.prompt_tokens !== undefined) next.prompt_tokens = patch.prompt_tokens;
  if (patch.completion_tokens !== undefined) next.completion_tokens = patch.completion_tokens;
  if (patch.citations !== undefined) next.citations = patch.citations;
  if (patch.unknown_citations !== undefined) next.unknown_citations = patch.unknown_citations;
  if (patch.error_message !== undefined) next.error_message = patch.error_message;
  else if (patch.status !== 'error') next.error_message = undefined;

  let nextHead = head;
  const wasCompleted = section.status === 'completed';
  const isCompleted = next.status === 'completed';
  if (wasCompleted !== isCompleted) {
    const sign = isCompleted ? 1 : -1;
    nextHead = copyHead(head);
    nextHead.completed_sections = head.completed_sections + sign;
    nextHead.completed_ms = head.completed_ms + sign * (isCompleted ? next.duration_ms ?? 0 : section.duration_ms ?? 0);
    nextHead.total_tokens = head.total_tokens + sign * (isCompleted ? next.tokens_used : section.tokens_used);
  }
  return { head: nextHead, section: next };
}
