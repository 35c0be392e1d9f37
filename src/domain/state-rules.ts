import type { NewWorkflow, SectionPatch, Transition } from './changes.js';
import type { Section, Workflow, WorkflowHead } from './types.js';

// Copies are object literals naming every field: `satisfies` makes a field added to a type a compile error
// here rather than a field the stores silently drop.

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
    prompt_tokens: h.prompt_tokens,
    completion_tokens: h.completion_tokens,
    active_ms: h.active_ms,
    generating_since: h.generating_since,
  } satisfies Record<keyof WorkflowHead, unknown>;
}

/** A workflow of a head's fields and the parts given. */
export function workflowOf(h: WorkflowHead, parts: Pick<Workflow, 'sections' | 'exhibits' | 'logs'>): Workflow {
  return Object.assign(copyHead(h), parts);
}

/** The newest `n` log lines of a window, oldest first; none for 0 (where `slice(-0)` would give them all). */
export function newestLogs<T>(logs: readonly T[], n: number): T[] {
  return n > 0 ? logs.slice(-n) : [];
}

/**
 * A copy of a section: every field of `Section`, internal ones included (the preview's public shape is
 * `sectionView` in preview-shape.ts). Unset optional fields are `undefined`, which JSON leaves out.
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
    version: s.version,
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
    prompt_tokens: 0,
    completion_tokens: 0,
    active_ms: 0,
    generating_since: head.status === 'generating' ? Date.parse(head.created_at) : null,
  };
}

/**
 * How a status change moves the head: time counts only while `generating`; `error` records its message and
 * `generating` (a resume, also from `error`) clears it. Used by the memory store and mirrored by the Redis
 * scripts (the contract suite checks both agree).
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
  if (t.to === 'generating') next.error_message = null;
  return next;
}

/** The head's sums over completed sections, each with the section field it adds up. */
export const COMPLETED_SUMS = [
  ['completed_ms', 'duration_ms'],
  ['total_tokens', 'tokens_used'],
  ['prompt_tokens', 'prompt_tokens'],
  ['completion_tokens', 'completion_tokens'],
] as const satisfies ReadonlyArray<readonly [keyof WorkflowHead, keyof Section]>;

/**
 * A section change and its effect on the head: the section is stamped with the version this write makes
 * (one more than the head's), and a section that enters or leaves `completed` adds its numbers to the
 * head's sums or takes them out (so a completion counts once).
 */
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
  if (patch.citations !== undefined) next.citations = [...patch.citations];
  if (patch.unknown_citations !== undefined) next.unknown_citations = [...patch.unknown_citations];
  if (patch.error_message !== undefined) next.error_message = patch.error_message;
  else if (patch.status !== 'error') next.error_message = undefined;
  next.version = head.version + 1;

  const wasCompleted = section.status === 'completed';
  const isCompleted = next.status === 'completed';
  if (wasCompleted === isCompleted) return { head, section: next };
  const sign = isCompleted ? 1 : -1;
  const counted = isCompleted ? next : section;
  const nextHead = copyHead(head);
  nextHead.completed_sections = head.completed_sections + sign;
  for (const [sum, field] of COMPLETED_SUMS) nextHead[sum] = head[sum] + sign * (counted[field] ?? 0);
  return { head: nextHead, section: next };
}
