import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import {
  createdMsOf,
  listPosition,
  matchesQuery,
  threadOfPosition,
  type DocumentPage,
  type DocumentQuery,
  type DocumentSummary,
} from '../../domain/document-list.js';
import type { DocumentType, WorkflowHead, WorkflowStatus } from '../../domain/types.js';
import type { RedisClient } from './connection.js';
import { guarded } from './errors.js';
import type { KeySpace } from './keys.js';
import { LIST_SCRIPTS, SUMMARY_FIELDS, indexDrop2, indexPage, indexPut2 } from './list-scripts.js';
import type { ScriptDef } from './scripts.js';

/**
 * The document indexes of the Redis store: sorted sets in their own Cluster slot (`{list}`), kept by the
 * store's create, transition and delete (a second step after or before each workflow script: the two slots
 * cannot share a script), read by `page`. docs/architecture-list.md describes the keys and what a reader may
 * see between the two steps; in short, a page checks every candidate against the workflow's own head, so it
 * shows only what the workflows say now, and repairs what it finds out of step.
 */


/**
 * An entry whose workflow is missing is dropped only when the workflow was created longer ago than this: a
 * create indexes first and writes the workflow second, and a reader between the two must not drop the entry
 * of a workflow about to exist. Far longer than any create takes (its commands time out in seconds).
 */
export const PENDING_CREATE_MS = 60_000;

/** Entries a page script looks at per call before it returns to let other commands run. */
const ENTRIES_PER_CALL = 1000;

/** Due entries the sweep checks per round. */
const SWEEP_BATCH = 1000;

type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>;

export interface DocumentIndexOptions {
  ttlMs: number;
  /**
   * The workflows live on the same server as the indexes (not a Cluster): a page script then reads the
   * candidates' heads too, in the same round trip.
   */
  sameServer: boolean;
  logger: Logger;
  /** How often the sweep drops entries of expired workflows; default a tenth of the TTL, 1 s to 60 s. */
  sweepIntervalMs?: number;
  now?: () => number;
}

export class DocumentIndex {
  /** Every index key starts with this; `{list}` is their hash tag (one Cluster slot, none of a workflow's). */
  readonly base: string;
  readonly docsKey: string;
  /** Sorted set: thread id → the epoch ms its workflow expires at, as far as the last index write knew. */
  readonly dueKey: string;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  /** The last answer to each query and the page made from it (single server only; see `page`). */
  private readonly pages = new LRUCache<string, { reply: string; page: DocumentPage }>({ max: 1000 });
  /** What a page script needs to read heads itself (see `sameServer`): the meta key around a thread id. */
  private readonly headArgs: string[];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    private readonly options: DocumentIndexOptions,
  ) {
    this.base = `${keys.prefix}{list}:`;
    this.docsKey = `${this.base}docs`;
    this.dueKey = `${this.base}due`;
    this.now = options.now ?? (() => Date.now());
    const [before, after] = keys.of('\n').meta.split('\n');
    this.headArgs = options.sameServer ? [before!, after!] : [];
    for (const def of LIST_SCRIPTS) {
      redis.defineCommand(def.name, { lua: def.lua, numberOfKeys: def.numberOfKeys < 0 ? undefined : def.numberOfKeys });
    }
    const interval = options.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, options.ttlMs / 10));
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) => options.logger.warn({ err }, 'document index sweep failed'));
    }, interval);
    this.sweeper.unref();
  }

  /**
   * Indexes a workflow, or moves it to the status of `head` when `head.version` is newer than the one
   * indexed. A create calls it before writing the workflow (version 0), a transition after, with the head it
   * made.
   */
  async put(head: Pick<WorkflowHead, 'thread_id' | 'user_id' | 'case_id' | 'document_type' | 'status' | 'created_at' | 'version'>): Promise<void> {
    await this.run(indexPut2, [this.docsKey, this.dueKey], [
      this.base,
      head.thread_id,
      listPosition(head.created_at, head.thread_id),
      head.user_id,
      head.case_id,
      head.document_type,
      head.status,
      head.version,
      this.now() + this.options.ttlMs,
    ]);
  }

  async drop(threadIds: readonly string[]): Promise<void> {
    if (threadIds.length) await this.run(indexDrop2, [this.docsKey, this.dueKey], [this.base, ...threadIds]);
  }

  /**
   * One page, checked against the workflows themselves (see the class comment). On a single server the
   * script's answer carries the whole page (positions, indexed statuses, the heads' fields), so when it is
   * the same text as the last answer to the same query, the page made from that is the answer again: a
   * dashboard polling an unchanged list costs one script and a string comparison.
   */
  async page(query: DocumentQuery): Promise<DocumentPage> {
    const { sets, rest } = this.sourcesOf(query);
    const want = query.limit + 1;
    const memoKey = this.headArgs.length ? JSON.stringify([sets, rest, query.after ?? '', query.limit]) : null;
    const items: DocumentSummary[] = [];
    const gone: string[] = [];
    const outOfStep: DocumentSummary[] = [];
    let skipped = 0;
    let calls = 0;
    let first = '';
    let after = query.after ?? '';
    do {
      const [text, resume] = (await this.run(
        indexPage,
        [this.docsKey, ...sets],
        [
          after,
          want - items.length,
          ENTRIES_PER_CALL,
          rest.user_id ?? '',
          rest.case_id ?? '',
          rest.document_type ?? '',
          rest.statuses ? `,${rest.statuses.join(',')},` : '',
          ...this.headArgs,
        ],
        sets.length + 1,
      )) as [string, string];
      if (calls++ === 0) {
        first = `${resume}\n${text}`;
        const known = memoKey === null ? undefined : this.pages.get(memoKey);
        if (known?.reply === first) return known.page;
      }
      const rows = text ? text.split('\n').map((line) => line.split('\t')) : [];
      const heads = this.headArgs.length
        ? rows.map((row) => summaryOf(threadOfPosition(row[0]!), row, 2))
        : await this.readSummaries(rows.map((row) => threadOfPosition(row[0]!)));
      rows.forEach(([position, indexed], i) => {
        const head = heads[i];
        if (!head) {
          skipped++;
          if (this.now() - createdMsOf(position!) > PENDING_CREATE_MS) gone.push(threadOfPosition(position!));
          return;
        }
        if (head.status !== indexed) outOfStep.push(head);
        if (matchesQuery(head, query)) items.push(Object.freeze(head));
      });
      after = resume;
    } while (items.length < want && after !== '');
    await this.tidy(gone, outOfStep);
    const page = items.slice(0, query.limit);
    const last = page[page.length - 1];
    const result: DocumentPage = Object.freeze({
      items: Object.freeze(page) as DocumentSummary[],
      next: items.length > query.limit && last ? listPosition(last.created_at, last.thread_id) : null,
    });
    // Only a page read whole in one call, with nothing skipped or out of step, answers the same text again.
    if (memoKey !== null && calls === 1 && skipped === 0 && outOfStep.length === 0) this.pages.set(memoKey, { reply: first, page: result });
    return result;
  }

  /**
   * Drops the entries of workflows that expired: those due (past the expiry the index knew), whose workflow
   * is gone; the others are due again when their workflow now expires. A round checks at most
   * `SWEEP_BATCH` entries; rounds follow until none is due.
   */
  async sweep(): Promise<number> {
    let dropped = 0;
    for (;;) {
      const now = this.now();
      const due = await guarded(() => this.redis.zrangebyscore(this.dueKey, '-inf', now, 'LIMIT', 0, SWEEP_BATCH));
      if (!due.length) return dropped;
      const ttls = await guarded(() => Promise.all(due.map((id) => this.redis.pttl(this.keys.of(id).meta))));
      const gone: string[] = [];
      const rescored: Array<string | number> = [];
      due.forEach((id, i) => {
        const ttl = ttls[i] ?? -2;
        if (ttl === -2) gone.push(id);
        else rescored.push(now + (ttl > 0 ? ttl : this.options.ttlMs), id);
      });
      await this.drop(gone);
      // XX: only entries still there (a delete may have dropped one meanwhile).
      if (rescored.length) await guarded(() => this.redis.zadd(this.dueKey, 'XX', ...rescored));
      dropped += gone.length;
      if (due.length < SWEEP_BATCH) return dropped;
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /**
   * The sets that answer a query: the most specific index its filters name, and what is left to filter.
   * Per user: by case (a handful of documents), else by status (one set per status asked), else by type.
   * Without a user the same order over the global sets. A filter no set covers is checked in the script.
   */
  private sourcesOf(query: DocumentQuery): { sets: string[]; rest: Omit<DocumentQuery, 'limit' | 'after'> } {
    const statuses = query.statuses?.length ? [...new Set(query.statuses)] : undefined;
    const { user_id: user, case_id: kase, document_type: type } = query;
    const scope = user === undefined ? this.base : `${this.base}u=${user}`;
    const sep = user === undefined ? '' : '/';
    const rest: { user_id?: string; case_id?: string; document_type?: DocumentType; statuses?: WorkflowStatus[] } = {};
    if (kase !== undefined) {
      Object.assign(rest, { document_type: type, statuses });
      return { sets: [`${scope}${sep}c=${kase}`], rest };
    }
    if (statuses) {
      rest.document_type = type;
      return { sets: statuses.map((s) => `${scope}${sep}s=${s}`), rest };
    }
    if (type) return { sets: [`${scope}${sep}t=${type}`], rest };
    return { sets: [user === undefined ? `${this.base}all` : scope], rest };
  }

  /** The summary of each workflow, null for one that is gone; one round trip (the commands are pipelined). */
  private async readSummaries(ids: string[]): Promise<Array<DocumentSummary | null>> {
    const rows = await guarded(() => Promise.all(ids.map((id) => this.redis.hmget(this.keys.of(id).meta, ...SUMMARY_FIELDS))));
    return rows.map((row, i) => summaryOf(ids[i]!, row, 0));
  }

  /** Drops entries of workflows that are gone, and moves those whose status changed without their index. */
  private async tidy(gone: string[], outOfStep: DocumentSummary[]): Promise<void> {
    try {
      await this.drop(gone);
      await Promise.all(outOfStep.map((head) => this.put(head)));
    } catch (err) {
      // The page is right without it; the next reader or the sweep tries again.
      this.options.logger.warn({ err }, 'document index repair failed');
    }
  }

  private run(def: ScriptDef, keys: string[], args: Array<string | number>, keyCount?: number): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, ScriptRunner>)[def.name];
    if (!command) throw new Error(`script ${def.name} is not defined`);
    const counted = keyCount === undefined ? [...keys, ...args] : [keyCount, ...keys, ...args];
    return guarded(() => command.call(this.redis, ...counted));
  }
}

/**
 * A head's `SUMMARY_FIELDS` values, from `row[at]` on, as a summary; null when the workflow is gone. Thread
 * ids are never reused (UUID v4 made by the service, and a second create of one is refused), so the head
 * at a position's thread id is that position's document.
 */
function summaryOf(threadId: string, row: ReadonlyArray<string | null | undefined>, at: number): DocumentSummary | null {
  const status = row[at];
  if (!status) return null;
  const created_at = row[at + 4] ?? '';
  return {
    thread_id: threadId,
    case_id: row[at + 1] ?? '',
    user_id: row[at + 2] ?? '',
    document_type: row[at + 3] as DocumentType,
    status: status as WorkflowStatus,
    created_at,
    updated_at: row[at + 5] || created_at,
    total_sections: Number(row[at + 6] ?? 0),
    completed_sections: Number(row[at + 7] ?? 0),
    version: Number(row[at + 8] ?? 0),
  };
}
