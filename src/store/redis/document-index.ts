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
import { LIST_SCRIPTS, indexDrop2, indexPage, indexPut2 } from './list-scripts.js';
import type { ScriptDef } from './scripts.js';

/**
 * The document indexes of the Redis store: sorted sets in their own Cluster slot (`{list}`), kept by the
 * store's create, transition and delete (a second step after or before each workflow script: the two slots
 * cannot share a script), read by `page`. docs/architecture-list.md describes the keys and what a reader may
 * see between the two steps; in short, a page checks every candidate against the workflow's own head, so it
 * shows only what the workflows say now, and repairs what it finds out of step.
 */

/** The head fields a page reads of each candidate, in this order (HMGET). */
const SUMMARY_FIELDS = [
  'thread_id', 'case_id', 'user_id', 'document_type', 'status', 'created_at', 'updated_at', 'total_sections',
  'completed_sections', 'version',
] as const;

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

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    private readonly options: DocumentIndexOptions,
  ) {
    this.base = `${keys.prefix}{list}:`;
    this.docsKey = `${this.base}docs`;
    this.dueKey = `${this.base}due`;
    this.now = options.now ?? (() => Date.now());
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

  /** One page, checked against the workflows themselves (see the class comment). */
  async page(query: DocumentQuery): Promise<DocumentPage> {
    const { sets, rest } = this.sourcesOf(query);
    const want = query.limit + 1;
    const items: DocumentSummary[] = [];
    const gone: string[] = [];
    const outOfStep: DocumentSummary[] = [];
    let after = query.after ?? '';
    do {
      const reply = (await this.run(
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
        ],
        sets.length + 1,
      )) as [string[], string];
      const [found, resume] = reply;
      const positions = found.filter((_, i) => i % 2 === 0);
      const heads = await this.readSummaries(positions.map(threadOfPosition));
      positions.forEach((position, i) => {
        const head = heads[i];
        if (!head || listPosition(head.created_at, head.thread_id) !== position) {
          if (this.now() - createdMsOf(position) > PENDING_CREATE_MS) gone.push(threadOfPosition(position));
          return;
        }
        if (head.status !== found[i * 2 + 1]) outOfStep.push(head);
        if (matchesQuery(head, query)) items.push(head);
      });
      after = resume;
    } while (items.length < want && after !== '');
    await this.tidy(gone, outOfStep);
    const page = items.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page,
      next: items.length > query.limit && last ? listPosition(last.created_at, last.thread_id) : null,
    };
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
    return rows.map((row) => {
      const [thread_id, case_id, user_id, document_type, status, created_at, updated_at, total, completed, version] = row;
      if (!thread_id || !status || !created_at) return null;
      return {
        thread_id,
        case_id: case_id ?? '',
        user_id: user_id ?? '',
        document_type: document_type as DocumentType,
        status: status as WorkflowStatus,
        created_at,
        updated_at: updated_at ?? created_at,
        total_sections: Number(total ?? 0),
        completed_sections: Number(completed ?? 0),
        version: Number(version ?? 0),
      };
    });
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
