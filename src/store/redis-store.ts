import type { Logger } from 'pino';
import type { DocumentPage, DocumentQuery } from '../domain/document-list.js';
import type { Exhibit, ExhibitTextResult, LogEntry, Workflow, WorkflowHead } from '../domain/types.js';
import { decodeHead, decodeReadHead, decodeSection, encodeHead } from './redis/codec.js';
import { isClusterNode, openClient, waitUntilReady, watchConnection, type RedisClient } from './redis/connection.js';
import { DocumentIndex } from './redis/document-index.js';
import { guarded } from './redis/errors.js';
import { KeySpace } from './redis/keys.js';
import { initialHead } from '../domain/state-rules.js';
import {
  ALL_SCRIPTS,
  acquireLease2,
  appendLog6,
  create6,
  delete6,
  putExhibit6,
  read5,
  releaseLease1,
  renewLease2,
  setExhibitText6,
  transition6,
  updateSection6,
  type ScriptDef,
} from './redis/scripts.js';
import {
  MAX_LOGS_KEPT,
  type ExhibitTextWrite,
  type NewWorkflow,
  type PutExhibitResult,
  type SectionPatch,
  type SectionWriteOptions,
  type Transition,
  type TransitionResult,
  type WorkflowChange,
  type WorkflowStore,
  type WriteOptions,
} from './workflow-store.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  /** Every command fails (503 / runner backoff) after this long instead of hanging. */
  commandTimeoutMs: number;
  logger: Logger;
  /** How long `connect` waits for a first connection before starting anyway (not ready); default 5 s. */
  connectWaitMs?: number;
}

type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>;

/**
 * The shared store for several processes: one Lua script per change (atomic, Cluster-valid: all keys of a
 * call share the `{thread_id}` slot), changes fanned out over pub/sub so every process sees every change.
 *
 * Failure behaviour: no offline queue (a command issued while Redis is away fails at once instead of
 * piling up), a per-command timeout, no silent re-send of unanswered commands after a reconnect, and a
 * reconnect loop that never gives up. Every such failure surfaces as `StoreUnavailableError`.
 */
export class RedisWorkflowStore implements WorkflowStore {
  private readonly ttlMs: number;
  /** Change listeners, each with its `onReady`. */
  private readonly listeners = new Map<(change: WorkflowChange) => void, (() => void) | undefined>();
  private readonly releaseListeners = new Set<(threadId: string) => void>();
  private subscriber: RedisClient | null = null;
  /** Settles when the change channel's current subscription is confirmed; null while nobody listens. */
  private changesSubscribed: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;
  /** The indexes `listDocuments` reads, kept by create, transition and delete. */
  private readonly documents: DocumentIndex;

  private constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    private readonly options: RedisStoreOptions,
    /** Detected at start: the server at REDIS_URL runs in cluster mode. */
    private readonly cluster: boolean,
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
    for (const def of ALL_SCRIPTS) redis.defineCommand(def.name, { numberOfKeys: def.numberOfKeys, lua: def.lua });
    this.documents = new DocumentIndex(redis, keys, { ttlMs: this.ttlMs, logger: options.logger, sameServer: !cluster });
  }

  /**
   * Connects, waiting a little for the first connection, and switches to a Cluster client when the server
   * says it is a cluster node. When Redis cannot be reached in time the store starts anyway (not ready,
   * reconnecting in the background), assuming a single server.
   */
  static async connect(options: RedisStoreOptions): Promise<RedisWorkflowStore> {
    const keys = new KeySpace(options.keyPrefix);
    const log = options.logger.child({ component: 'redis' });
    const wait = options.connectWaitMs ?? 5000;
    let client = openClient(options, 'commands', false);
    watchConnection(client, log, 'commands');
    let cluster = false;
    if (!(await waitUntilReady(client, wait))) {
      log.warn('Redis is not reachable yet; starting anyway (not ready) and reconnecting in the background');
    } else if (await isClusterNode(client).catch(() => false)) {
      client.disconnect();
      cluster = true;
      client = openClient(options, 'commands', true);
      watchConnection(client, log, 'commands');
      if (!(await waitUntilReady(client, wait))) log.warn('Redis Cluster is not ready yet; starting anyway');
    }
    return new RedisWorkflowStore(client, keys, options, cluster);
  }

  async create(workflow: NewWorkflow): Promise<void> {
    const { head, sections, logs } = workflow;
    const fullHead = initialHead(workflow);
    const id = head.thread_id;
    // The indexes first: if the script then fails, listActive and listGenerating drop the entry when they
    // find no workflow.
    await guarded(() => this.redis.zadd(this.keys.active, Date.now() + this.ttlMs, id));
    if (fullHead.status === 'generating') await guarded(() => this.redis.sadd(this.keys.generating, id));
    // Indexed before the workflow is written: should that write fail, pages skip the entry (there is no
    // workflow to read) and drop it later. The other order could leave a workflow that no list shows.
    await this.documents.put(fullHead);
    const created = await this.write(create6, id, [
      JSON.stringify(encodeHead(fullHead)),
      JSON.stringify(sections.flatMap((s) => [s.section_id, JSON.stringify({ ...s, version: 1 })])),
      JSON.stringify(logs.slice(-MAX_LOGS_KEPT).map((l) => JSON.stringify(l))),
    ]);
    if (created !== 1) throw new Error(`workflow ${id} already exists`);
  }

  async getHead(threadId: string): Promise<WorkflowHead | null> {
    const raw = await guarded(() => this.redis.hgetall(this.keys.of(threadId).meta));
    return decodeHead(raw);
  }

  async get(threadId: string, options: { logLimit?: number } = {}): Promise<Workflow | null> {
    // Version -1 never matches: the read the preview makes, always answering the whole state.
    return (await this.getIfChanged(threadId, -1, options))?.workflow ?? null;
  }

  async getIfChanged(
    threadId: string,
    knownVersion: number,
    options: { logLimit?: number } = {},
  ): Promise<{ head: WorkflowHead; workflow: Workflow | null } | null> {
    const limit = Math.max(0, Math.min(options.logLimit ?? MAX_LOGS_KEPT, MAX_LOGS_KEPT));
    const k = this.keys.of(threadId);
    const keys = [k.meta, k.sections, k.exhibits, k.exhibitOrder, k.logs];
    const reply = (await this.run(read5, keys, [knownVersion, limit])) as [Array<string | null>, string[]?, string[]?, string[]?] | null;
    const head = reply ? decodeReadHead(reply[0]) : null;
    if (!reply || !head) return null;
    const [, sections, exhibits = [], logs = []] = reply;
    if (!sections) return { head, workflow: null };
    const workflow: Workflow = Object.assign(head, {
      sections: sections.map(decodeSection).sort((a, b) => a.section_order - b.section_order),
      exhibits: exhibits.flatMap((json) => (json ? [JSON.parse(json) as Exhibit] : [])),
      logs: logs.map((json) => JSON.parse(json) as LogEntry),
    });
    return { head: workflow, workflow };
  }

  async transition(threadId: string, t: Transition): Promise<TransitionResult> {
    // Indexed before the change can happen, so a generating workflow is never missing from the index.
    if (t.to === 'generating') await guarded(() => this.redis.sadd(this.keys.generating, threadId));
    const reply = (await this.write(transition6, threadId, [
      t.from.join(','),
      t.to,
      t.at,
      t.log ? JSON.stringify(t.log) : '',
      t.errorMessage ?? 'Document generation failed',
      t.writeId ?? '',
    ])) as [number, string[] | string | undefined];
    if (reply[0] === 1) {
      const head = decodeHead(reply[1] as string[]);
      if (head) {
        await this.reindex(head);
        return { ok: true, head };
      }
    }
    return { ok: false, current: typeof reply[1] === 'string' ? (reply[1] as WorkflowHead['status']) : null };
  }

  async updateSection(
    threadId: string,
    sectionId: string,
    patch: SectionPatch,
    options: SectionWriteOptions,
  ): Promise<number | null> {
    const reply = await this.write(updateSection6, threadId, [
      sectionId,
      JSON.stringify(patch),
      options.leaseToken,
      options.log ? JSON.stringify(options.log) : '',
      options.writeId ?? '',
    ]);
    return typeof reply === 'number' && reply > 0 ? reply : null;
  }

  async appendLog(threadId: string, entry: LogEntry, options: WriteOptions = {}): Promise<boolean> {
    return (await this.write(appendLog6, threadId, [JSON.stringify(entry), options.writeId ?? ''])) === 1;
  }

  async putExhibit(threadId: string, exhibit: Exhibit, log?: LogEntry): Promise<PutExhibitResult | null> {
    const reply = (await this.write(putExhibit6, threadId, [
      exhibit.exhibit_id,
      JSON.stringify(exhibit),
      log ? JSON.stringify(log) : '',
    ])) as [number, string] | null;
    if (!reply) return null;
    return { replaced: reply[1] ? (JSON.parse(reply[1]) as Exhibit) : null };
  }

  async setExhibitText(
    threadId: string,
    exhibitId: string,
    uploadId: string,
    result: ExhibitTextResult,
    log?: LogEntry,
  ): Promise<ExhibitTextWrite> {
    return (await this.write(setExhibitText6, threadId, [
      exhibitId,
      uploadId,
      JSON.stringify(result),
      log ? JSON.stringify(log) : '',
    ])) as ExhibitTextWrite;
  }

  async delete(threadId: string): Promise<boolean> {
    const deleted = (await this.write(delete6, threadId, [])) === 1;
    // The index lives in another slot; a failure here only leaves an entry listActive prunes later.
    await this.redis.zrem(this.keys.active, threadId).catch(() => undefined);
    await this.redis.srem(this.keys.generating, threadId).catch(() => undefined);
    await this.documents.drop([threadId]).catch(() => undefined);
    return deleted;
  }

  async listDocuments(query: DocumentQuery): Promise<DocumentPage> {
    return this.documents.page(query);
  }

  /**
   * Moves a workflow to its new status in the list indexes (another Cluster slot, so a step of its own after
   * the transition). The transition has happened either way: a failure here leaves the index a status behind,
   * which the next page that reads the workflow, or the sweep, puts right.
   */
  private async reindex(head: WorkflowHead): Promise<void> {
    try {
      await this.documents.put(head);
    } catch (err) {
      this.options.logger.warn({ err, thread_id: head.thread_id }, 'document index not updated; readers will repair it');
    }
  }

  /**
   * The index scores each id by the expiry it had when last checked. Entries past that score are looked up
   * again: kept (re-scored with the real TTL) when the workflow was written since, dropped when it expired.
   * So the index never grows with expired workflows, and writes never have to touch it.
   */
  async listActive(): Promise<string[]> {
    const now = Date.now();
    const [due, live] = await guarded(() =>
      Promise.all([
        this.redis.zrangebyscore(this.keys.active, '-inf', now),
        this.redis.zrangebyscore(this.keys.active, `(${now}`, '+inf'),
      ]),
    );
    const ttls = await guarded(() => Promise.all(due.map((id) => this.redis.pttl(this.keys.of(id).meta))));
    const revived: string[] = [];
    const rescored: Array<string | number> = [];
    const gone: string[] = [];
    due.forEach((id, i) => {
      const ttl = ttls[i] ?? -2;
      if (ttl === -2) gone.push(id);
      else {
        revived.push(id);
        rescored.push(now + (ttl > 0 ? ttl : this.ttlMs), id);
      }
    });
    if (gone.length) await guarded(() => this.redis.zrem(this.keys.active, ...gone));
    if (rescored.length) await guarded(() => this.redis.zadd(this.keys.active, ...rescored));
    return [...live, ...revived];
  }

  /**
   * The index holds every generating workflow and perhaps some that stopped (a completion, pause or
   * expiry never touches it: scripts stay within the workflow's own Cluster slot). Each listed id's status
   * is read (one round trip, commands pipelined; with `unleased`, only of the ids whose lease key is gone,
   * found in a round trip before); those not generating are dropped from the index. So the cost follows the
   * generating workflows, and the index cleans itself.
   */
  async listGenerating({ unleased = false }: { unleased?: boolean } = {}): Promise<string[]> {
    const ids = await guarded(() => this.redis.smembers(this.keys.generating));
    // A held lease means a live loop: such an id needs neither its status read nor index cleaning (its loop
    // releases the lease when it stops, and a later sweep cleans it then).
    const leased = unleased
      ? await guarded(() => Promise.all(ids.map((id) => this.redis.exists(this.keys.of(id).lease))))
      : null;
    const candidates = leased ? ids.filter((_, i) => !leased[i]) : ids;
    const statuses = await guarded(() =>
      Promise.all(candidates.map((id) => this.redis.hget(this.keys.of(id).meta, 'status'))),
    );
    const generating: string[] = [];
    const stale: string[] = [];
    candidates.forEach((id, i) => (statuses[i] === 'generating' ? generating : stale).push(id));
    if (stale.length) await guarded(() => this.redis.srem(this.keys.generating, ...stale));
    return generating;
  }

  async acquireLease(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    const k = this.keys.of(threadId);
    return (await this.run(acquireLease2, [k.meta, k.lease], [token, ttlMs])) === 1;
  }

  async renewLease(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    const k = this.keys.of(threadId);
    return (await this.run(renewLease2, [k.meta, k.lease], [token, ttlMs])) === 1;
  }

  async releaseLease(threadId: string, token: string): Promise<void> {
    await this.run(releaseLease1, [this.keys.of(threadId).lease], [token, this.keys.leases, threadId]);
  }

  onLeaseReleased(listener: (threadId: string) => void): () => void {
    if (this.releaseListeners.size === 0) this.listen(this.keys.leases);
    this.releaseListeners.add(listener);
    return () => {
      if (this.releaseListeners.delete(listener) && this.releaseListeners.size === 0) this.unlisten(this.keys.leases);
    };
  }

  /**
   * The change channel is subscribed only while someone listens (an event stream is open): every write of
   * every process publishes on it, and a process without listeners has no use for those messages.
   */
  subscribe(listener: (change: WorkflowChange) => void, onReady?: () => void): () => void {
    if (this.listeners.size === 0) this.changesSubscribed = this.listen(this.keys.changes);
    this.listeners.set(listener, onReady);
    if (onReady) this.changesSubscribed?.then(() => this.listeners.has(listener) && onReady());
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.changesSubscribed = null;
      this.unlisten(this.keys.changes);
    };
  }

  async ping(): Promise<void> {
    await guarded(() => this.redis.ping());
  }

  /** Quits both connections; runs once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.documents.close();
      this.listeners.clear();
      this.releaseListeners.clear();
      // The subscriber holds nothing worth flushing, and a queued QUIT could wait for a Redis that is gone.
      this.subscriber?.disconnect();
      try {
        await this.redis.quit();
      } catch {
        this.redis.disconnect();
      }
    })();
    return this.closing;
  }

  /** Runs a per-workflow write script with the common arguments (TTL, clock, channel, id). */
  private write(def: ScriptDef, threadId: string, args: Array<string | number>): Promise<unknown> {
    return this.run(def, this.keys.all(threadId), [
      this.ttlMs,
      new Date(Date.now()).toISOString(),
      this.keys.changes,
      threadId,
      ...args,
    ]);
  }

  private run(def: ScriptDef, keys: string[], args: Array<string | number>): Promise<unknown> {
    // defineCommand adds the script as a method (EVALSHA, falling back to EVAL after a Redis restart).
    const command = (this.redis as unknown as Record<string, ScriptRunner>)[def.name];
    if (!command) throw new Error(`script ${def.name} is not defined`);
    return guarded(() => command.call(this.redis, ...keys, ...args));
  }

  /** Subscribes the channel; the promise settles (never rejects) once Redis has confirmed it. */
  private listen(channel: string): Promise<unknown> {
    const sub = this.ensureSubscriber();
    if (!sub) return Promise.resolve();
    return sub.subscribe(channel).catch((err: unknown) => this.options.logger.warn({ err, channel }, 'subscribe failed'));
  }

  private unlisten(channel: string): void {
    this.subscriber?.unsubscribe(channel).catch(() => undefined);
  }

  /**
   * One extra connection in subscriber mode, opened on the first subscription. ioredis re-subscribes it after
   * a lost connection; changes published meanwhile were not delivered, so once the change channel is
   * confirmed again every listener's `onReady` runs again (event streams read the workflow afresh).
   */
  private ensureSubscriber(): RedisClient | null {
    if (this.subscriber || this.closing) return this.subscriber;
    const log = this.options.logger.child({ component: 'redis-subscriber' });
    const sub = openClient(this.options, 'subscriber', this.cluster);
    watchConnection(sub, log, 'subscriber');
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.leases) this.deliverRelease(message);
      else this.deliver(message);
    });
    let connected = false;
    sub.on('ready', () => {
      if (!connected) {
        connected = true;
        return;
      }
      if (this.listeners.size === 0) return;
      // Subscribing again is harmless; its answer says when the re-subscription is in place.
      const resubscribed = (this.changesSubscribed = this.listen(this.keys.changes));
      void resubscribed.then(() => {
        for (const [listener, onReady] of this.listeners) if (onReady && this.listeners.has(listener)) onReady();
      });
    });
    this.subscriber = sub;
    return sub;
  }

  private deliverRelease(threadId: string): void {
    for (const listener of this.releaseListeners) {
      try {
        listener(threadId);
      } catch (err) {
        this.options.logger.warn({ err }, 'lease-release listener failed');
      }
    }
  }

  private deliver(message: string): void {
    if (this.listeners.size === 0) return; // a message in flight when the last listener left
    let change: WorkflowChange;
    try {
      change = JSON.parse(message) as WorkflowChange;
    } catch {
      return;
    }
    for (const listener of this.listeners.keys()) {
      try {
        listener(change);
      } catch {
        // A failing listener must not stop the others.
      }
    }
  }
}
