import { ApiError, listDocuments } from './api.js';
import * as fmt from './format.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const PAGE_SIZE = 10;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeNode(iso, label) {
  const node = el('time', undefined, fmt.dateTime(iso));
  node.dateTime = iso;
  node.title = `${label} ${iso}`;
  return node;
}

/**
 * The home page's list of documents: one page of `GET /api/documents`, polled every 2 s with the ETag of
 * the page shown (an unchanged page is a 304 and nothing is redrawn). Pages go back by the cursors that led
 * to them; filters start again from the first page. Rows are kept by thread id and updated in place, so a
 * poll does not move the keyboard focus.
 *
 * Callbacks: onOpen(threadId), onDelete(item), onMode('list' | 'offline').
 */
export class DocumentList {
  constructor(callbacks) {
    this.cb = callbacks;
    this.filters = {};
    /** The cursor of each page shown so far: [null, cursor of page 2, ...]. */
    this.cursors = [null];
    this.etag = null;
    this.page = null;
    this.rows = new Map();
    this.timer = null;
    this.running = false;
    this.generation = 0;
    /** Rows name their user (signed out, the list holds everyone's documents). */
    this.showUser = true;
  }

  start() {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
  }

  setFilters(filters) {
    this.filters = filters;
    this.cursors = [null];
    void this.reload();
  }

  older() {
    if (!this.page?.next_cursor) return;
    this.cursors.push(this.page.next_cursor);
    void this.reload();
  }

  newer() {
    if (this.cursors.length <= 1) return;
    this.cursors.pop();
    void this.reload();
  }

  /** Reads the current page now (after a change made here, or a new filter). */
  async reload() {
    this.etag = null;
    clearTimeout(this.timer);
    if (this.running) await this.poll();
  }

  async poll() {
    const generation = ++this.generation;
    clearTimeout(this.timer);
    const cursor = this.cursors[this.cursors.length - 1];
    try {
      const answer = await listDocuments({ ...this.filters, limit: String(PAGE_SIZE), cursor }, this.etag);
      if (generation !== this.generation || !this.running) return;
      $('list-error').textContent = '';
      this.cb.onMode('list');
      if (!answer.notModified) {
        this.etag = answer.etag;
        this.page = answer.page;
        this.render();
      }
    } catch (err) {
      if (generation !== this.generation || !this.running) return;
      if (err instanceof ApiError && err.status === 401) return this.stop();
      if (err instanceof ApiError && err.code === 'INVALID_QUERY') {
        // A filter the server refuses (its message names it); a stale cursor starts again from page 1.
        $('list-error').textContent = err.message;
        if (/^cursor/.test(err.message)) this.cursors = [null];
      } else {
        $('list-error').textContent = `The list could not be loaded: ${err.message}`;
        this.cb.onMode('offline');
      }
    }
    if (this.running && generation === this.generation) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  render() {
    const { items, next_cursor: next } = this.page;
    const list = $('doc-list');
    list.setAttribute('aria-busy', 'false');
    const seen = new Set();
    items.forEach((item, index) => {
      let row = this.rows.get(item.thread_id);
      if (!row) {
        row = this.createRow(item.thread_id);
        this.rows.set(item.thread_id, row);
      }
      seen.add(item.thread_id);
      this.updateRow(row, item);
      if (list.children[index] !== row.li) list.insertBefore(row.li, list.children[index] ?? null);
    });
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      row.li.remove();
      this.rows.delete(id);
    }
    const filtered = Object.values(this.filters).some(Boolean);
    const empty = items.length === 0 && this.cursors.length === 1;
    $('list-empty').hidden = !empty;
    $('list-empty-text').textContent = filtered
      ? 'No documents match these filters.'
      : 'No documents yet. Start one: it appears here and updates while it is written.';
    $('empty-clear').hidden = !filtered;
    $('empty-start').hidden = filtered;
    $('newer-button').disabled = this.cursors.length <= 1;
    $('older-button').disabled = !next;
    $('page-text').textContent = `Page ${this.cursors.length}`;
    // One page only: nothing to page through.
    $('pager').hidden = this.cursors.length <= 1 && !next;
  }

  createRow(threadId) {
    const li = el('li', 'doc-row');
    li.dataset.thread = threadId;
    const head = el('div', 'doc-row-head');
    const link = el('a', 'doc-open');
    link.href = `/?thread=${encodeURIComponent(threadId)}`;
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.cb.onOpen(threadId);
    });
    const badge = el('span', 'badge');
    head.append(link, badge);
    const meta = el('p', 'doc-row-meta');
    const progressRow = el('div', 'doc-row-progress');
    const progress = el('progress');
    progress.max = 100;
    const pct = el('span', 'doc-row-pct');
    progressRow.append(progress, pct);
    const remove = el('button', 'danger small', 'Delete');
    remove.type = 'button';
    remove.addEventListener('click', () => this.cb.onDelete(li.item));
    li.append(head, meta, progressRow, remove);
    return { li, link, badge, meta, progress, pct, remove, key: null };
  }

  updateRow(row, item) {
    row.li.item = item;
    const key = JSON.stringify(item);
    if (row.key === key) return;
    row.key = key;
    const type = fmt.documentType(item.document_type);
    row.li.dataset.status = item.status;
    row.link.textContent = `${type} — case ${item.case_id}`;
    row.badge.dataset.status = item.status;
    row.badge.textContent = fmt.status(item.status);
    const meta = [
      el('span', undefined, `${item.completed_sections} of ${item.total_sections} sections`),
      el('span', undefined, 'Created '),
      el('span', undefined, 'Updated '),
    ];
    meta[1].append(timeNode(item.created_at, 'Created'));
    meta[2].append(timeNode(item.updated_at, 'Updated'));
    if (this.showUser && item.user_id) meta.push(el('span', 'doc-row-user', `User ${item.user_id}`));
    row.meta.replaceChildren(...meta);
    row.progress.value = item.progress_percentage;
    row.progress.textContent = `${item.progress_percentage}%`;
    row.progress.setAttribute('aria-label', `Progress of ${type.toLowerCase()} for case ${item.case_id}`);
    row.pct.textContent = `${item.progress_percentage}%`;
    row.remove.setAttribute('aria-label', `Delete ${type.toLowerCase()} for case ${item.case_id}`);
  }
}
