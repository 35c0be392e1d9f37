import {
  listPosition,
  matchesQuery,
  summaryOf,
  threadOfPosition,
  type DocumentPage,
  type DocumentQuery,
  type DocumentSummary,
} from '../domain/document-list.js';

/**
 * The memory store's list order: every document's position (domain/document-list.ts), kept sorted. Stored
 * in reverse (the newest last) so that a new document, nearly always the newest, is appended rather than
 * inserted at the front of a long array. Entries of deleted or expired workflows are skipped when read (a
 * page checks each against the workflow itself) and removed by `compact`, which the store's sweep calls.
 */
export class DocumentOrder {
  /** Positions in descending byte order: the oldest document first, the newest last. */
  private positions: string[] = [];

  add(createdAt: string, threadId: string): void {
    const position = listPosition(createdAt, threadId);
    const at = this.countAfter(position);
    if (this.positions[at] === position) return;
    if (at === this.positions.length) this.positions.push(position);
    else this.positions.splice(at, 0, position);
  }

  /** Keeps the positions whose document `keep` says is still there. */
  compact(keep: (threadId: string) => boolean): void {
    this.positions = this.positions.filter((p) => keep(threadOfPosition(p)));
  }

  get size(): number {
    return this.positions.length;
  }

  /**
   * One page: the documents after `query.after` that match, looked up with `lookup` (null when gone), until
   * one more than the limit is found (which says whether there is a next page).
   */
  page(query: DocumentQuery, lookup: (threadId: string) => DocumentSummary | null): DocumentPage {
    const items: DocumentSummary[] = [];
    const start = query.after === undefined ? this.positions.length : this.countAfter(query.after);
    for (let i = start - 1; i >= 0 && items.length <= query.limit; i--) {
      const position = this.positions[i]!;
      const head = lookup(threadOfPosition(position));
      // A thread id created again after a delete has a new position: the old one is not it.
      if (!head || listPosition(head.created_at, head.thread_id) !== position || !matchesQuery(head, query)) continue;
      items.push(summaryOf(head));
    }
    const page = items.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page, next: items.length > query.limit && last ? listPosition(last.created_at, last.thread_id) : null };
  }

  /** How many positions sort after `position` in list order (are greater): the index it would be inserted at. */
  private countAfter(position: string): number {
    let lo = 0;
    let hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.positions[mid]! > position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
