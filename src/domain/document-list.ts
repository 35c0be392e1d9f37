import type { DocumentType, WorkflowHead, WorkflowStatus } from './types.js';

/**
 * Finding documents (SPEC "Finding documents"): the filters, the order and the page positions both stores
 * share, so they give the same answers.
 *
 * Order: newest `created_at` first, ties by `thread_id` ascending. A document's place in that order is its
 * *position*, a string whose plain byte order is the list order: the milliseconds before year 2286 left
 * after `created_at` (13 digits, so a newer document sorts first), a colon and the thread id. A page starts
 * after a position, so a document created while a client pages never moves the ones after it: no skip and
 * no repeat.
 */

/** What a store needs to find one page. Every filter is optional; absent ones match everything. */
export interface DocumentQuery {
  user_id?: string;
  case_id?: string;
  document_type?: DocumentType;
  /** Any of these statuses; absent or empty: any status. */
  statuses?: readonly WorkflowStatus[];
  /** 1–100. */
  limit: number;
  /** The page starts after this position (from the previous page's `next`). */
  after?: string;
}

/** The fields of a workflow the list shows; a head has them all. */
export type DocumentSummary = Pick<
  WorkflowHead,
  | 'thread_id'
  | 'case_id'
  | 'user_id'
  | 'document_type'
  | 'status'
  | 'created_at'
  | 'updated_at'
  | 'total_sections'
  | 'completed_sections'
  | 'version'
>;

export interface DocumentPage {
  items: DocumentSummary[];
  /** The position of the last item when more documents match after it; null on the last page. */
  next: string | null;
}

const LAST_MS = 9_999_999_999_999;
const POSITION = /^\d{13}:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The position of a document in the list order (see above). */
export function listPosition(createdAt: string, threadId: string): string {
  const ms = Date.parse(createdAt);
  const left = Number.isFinite(ms) ? Math.min(LAST_MS, Math.max(0, LAST_MS - ms)) : LAST_MS;
  return `${String(left).padStart(13, '0')}:${threadId.toLowerCase()}`;
}

/** Whether a string has the shape of a position (checked before one from a client reaches a store). */
export const isListPosition = (value: string) => POSITION.test(value);

/** Epoch ms of the `created_at` a position was made from. */
export const createdMsOf = (position: string) => LAST_MS - Number(position.slice(0, 13));

/** The thread id at the end of a position. */
export const threadOfPosition = (position: string) => position.slice(14);

/** Whether a workflow passes the query's filters (not its page bounds). */
export function matchesQuery(head: DocumentSummary, query: Omit<DocumentQuery, 'limit' | 'after'>): boolean {
  return (
    (query.user_id === undefined || head.user_id === query.user_id) &&
    (query.case_id === undefined || head.case_id === query.case_id) &&
    (query.document_type === undefined || head.document_type === query.document_type) &&
    (!query.statuses?.length || query.statuses.includes(head.status))
  );
}

/** Completed sections as a percentage with one decimal, as the preview's metadata has it. */
export const progressPercentage = (completed: number, total: number) =>
  total === 0 ? 0 : Math.round((completed / total) * 1000) / 10;

/** The summary fields of a head, as a new object (a store hands out no more than the list needs). */
export function summaryOf(head: DocumentSummary): DocumentSummary {
  return {
    thread_id: head.thread_id,
    case_id: head.case_id,
    user_id: head.user_id,
    document_type: head.document_type,
    status: head.status,
    created_at: head.created_at,
    updated_at: head.updated_at,
    total_sections: head.total_sections,
    completed_sections: head.completed_sections,
    version: head.version,
  };
}
