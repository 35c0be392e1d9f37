import type { Logger } from 'pino';
import type { WorkflowChange, WorkflowStore } from '../store/workflow-store.js';
import type { MetadataSettings } from '../domain/metadata.js';
import { PREVIEW_LOG_LIMIT } from '../workflow/preview.js';
import { diffViews } from './diff.js';
import { ReplayBuffer } from './replay-buffer.js';
import { formatEventId, frame, HEARTBEAT_FRAME, type EventSink, type EventId } from './sse.js';
import { isFinished, toView, type WorkflowView } from './view.js';

export interface EventHubOptions {
  store: WorkflowStore;
  logger: Logger;
  metadata: MetadataSettings;
  /** Comment line sent to every client this often, so proxies and browsers keep idle streams open. */
  heartbeatMs?: number;
  /** Events kept per thread for `Last-Event-ID` replays. */
  replayCapacity?: number;
  /** A client whose unsent output exceeds this is disconnected (it reconnects and catches up). */
  maxBufferedBytes?: number;
  now?: () => number;
}

/** Why a stream ended; sent as the data of the final `end` event. */
export type EndReason = 'completed' | 'error' | 'deleted';

interface Channel {
  threadId: string;
  clients: Set<EventSink>;
  /** The state every client of the channel has been brought to. */
  last: WorkflowView | null;
  replay: ReplayBuffer | null;
  /** Work on one channel runs in order: reads, diffs and writes never interleave. */
  queue: Promise<void>;
  refreshQueued: boolean;
  closed: boolean;
}

export interface HubStats {
  clients: number;
  threads: number;
  /** Whether the hub currently listens to the store. */
  subscribed: boolean;
}

/**
 * Fans workflow changes out to SSE clients. The process holds ONE store subscription (only while some
 * client is connected); for each thread with clients it reads the workflow once per change, diffs it
 * against the state its clients already have and writes the resulting typed events to all of them. Because
 * the store delivers every process's changes (Redis pub/sub), a change made anywhere reaches clients here.
 */
export class EventHub {
  private readonly channels = new Map<string, Channel>();
  private unsubscribe: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private clientCount = 0;
  private closed = false;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  private readonly replayCapacity: number;
  private readonly maxBufferedBytes: number;

  constructor(private readonly options: EventHubOptions) {
    this.log = options.logger.child({ component: 'events' });
    this.now = options.now ?? (() => Date.now());
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.replayCapacity = options.replayCapacity ?? 500;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  }

  /**
   * Adds a client to a thread's stream. It first receives either the events it missed since `lastEventId`
   * (when they are all still buffered) or a full snapshot, then every change. Returns the function that
   * removes it (idempotent); call it when the connection closes.
   */
  attach(threadId: string, sink: EventSink, lastEventId: EventId | null = null): () => void {
    if (this.closed) {
      sink.end();
      return () => {};
    }
    const channel = this.channelFor(threadId);
    channel.clients.add(sink);
    this.clientCount++;
    this.startBackground();
    this.enqueue(channel, () => this.join(channel, sink, lastEventId));
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.remove(channel, sink);
    };
  }

  stats(): HubStats {
    return { clients: this.clientCount, threads: this.channels.size, subscribed: this.unsubscribe !== null };
  }

  /** Ends every stream (shutdown: clients reconnect to another process) and stops listening; idempotent. */
  close(): void {
    this.closed = true;
    for (const channel of [...this.channels.values()]) this.closeChannel(channel);
    this.stopBackground();
  }

  private channelFor(threadId: string): Channel {
    let channel = this.channels.get(threadId);
    if (!channel) {
      channel = {
        threadId,
        clients: new Set(),
        last: null,
        replay: null,
        queue: Promise.resolve(),
        refreshQueued: false,
        closed: false,
      };
      this.channels.set(threadId, channel);
    }
    return channel;
  }

  private enqueue(channel: Channel, task: () => Promise<void>): void {
    channel.queue = channel.queue.then(task).catch((err: unknown) => {
      // A failed read (store unavailable) drops this channel's clients; they reconnect and get a snapshot.
      this.log.warn({ err, threadId: channel.threadId }, 'event stream update failed');
      this.closeChannel(channel);
    });
  }

  private onChange(change: WorkflowChange): void {
    const channel = this.channels.get(change.thread_id);
    if (!channel || channel.closed) return;
    if (change.kind === 'deleted') {
      this.enqueue(channel, async () => this.finish(channel, 'deleted'));
      return;
    }
    // Late or duplicate notifications (another process, a read that already saw this version) change nothing.
    if (channel.last && change.version <= channel.last.version) return;
    this.queueRefresh(channel);
  }

  /** One refresh waits in a channel's queue at most: it reads whatever is current when it runs. */
  private queueRefresh(channel: Channel): void {
    if (channel.refreshQueued) return;
    channel.refreshQueued = true;
    this.enqueue(channel, async () => {
      channel.refreshQueued = false;
      if (await this.refresh(channel)) this.finishIfDone(channel);
    });
  }

  /**
   * The store's subscription is (again) in place: a channel that read its workflow before then may have missed
   * a change, so each one that has read reads again (one that has not yet will, when its first client joins).
   */
  private resync(): void {
    for (const channel of this.channels.values()) if (!channel.closed && channel.last) this.queueRefresh(channel);
  }

  /** Reads the workflow and brings every client of the channel to it; false when it is gone (stream ended). */
  private async refresh(channel: Channel): Promise<boolean> {
    if (channel.closed) return false;
    const workflow = await this.options.store.get(channel.threadId, { logLimit: PREVIEW_LOG_LIMIT });
    if (channel.closed) return false;
    if (!workflow) {
      this.finish(channel, 'deleted');
      return false;
    }
    const next = toView(workflow, this.now(), this.options.metadata);
    const previous = channel.last;
    if (!previous) {
      channel.last = next;
      channel.replay = new ReplayBuffer(next.version, this.replayCapacity);
    } else if (next.version > previous.version) {
      channel.last = next;
      diffViews(previous, next).forEach((event, i) => {
        const id = { version: next.version, n: i + 1 };
        const text = frame(event.type, event.data, formatEventId(id));
        channel.replay?.push(id.version, id.n, text);
        for (const sink of channel.clients) this.send(channel, sink, text);
      });
    }
    return true;
  }

  private finishIfDone(channel: Channel): void {
    const status = channel.last?.body.status;
    if (status && isFinished(status)) this.finish(channel, status as EndReason);
  }

  private async join(channel: Channel, sink: EventSink, lastEventId: EventId | null): Promise<void> {
    if (!channel.clients.has(sink)) return;
    // Brings the existing clients up to date first, so the newcomer's starting point is the channel's state.
    if (!(await this.refresh(channel))) return;
    const last = channel.last;
    if (!last || !channel.clients.has(sink)) return;
    const missed = lastEventId ? channel.replay?.since(lastEventId) : null;
    if (missed) for (const text of missed) this.send(channel, sink, text);
    else this.send(channel, sink, frame('snapshot', last.body, formatEventId({ version: last.version, n: 0 })));
    this.finishIfDone(channel);
  }

  /** A thread that completed, failed or was deleted: every client gets `end` and the stream closes. */
  private finish(channel: Channel, reason: EndReason): void {
    for (const sink of [...channel.clients]) this.endClient(channel, sink, reason);
    this.closeChannel(channel);
  }

  private endClient(channel: Channel, sink: EventSink, reason: EndReason): void {
    this.send(channel, sink, frame('end', { reason }));
    this.remove(channel, sink);
    sink.end();
  }

  private send(channel: Channel, sink: EventSink, text: string): void {
    if (!channel.clients.has(sink)) return;
    if (!sink.write(text) && sink.bufferedBytes() > this.maxBufferedBytes) {
      this.log.info({ threadId: channel.threadId }, 'dropping an event stream client that does not keep up');
      this.remove(channel, sink);
      sink.end();
    }
  }

  private remove(channel: Channel, sink: EventSink): void {
    if (!channel.clients.delete(sink)) return;
    this.clientCount--;
    // The replay buffer lives only as long as some client of the thread is connected.
    if (channel.clients.size === 0) this.closeChannel(channel);
    if (this.clientCount === 0) this.stopBackground();
  }

  private closeChannel(channel: Channel): void {
    for (const sink of [...channel.clients]) {
      channel.clients.delete(sink);
      this.clientCount--;
      sink.end();
    }
    channel.closed = true;
    channel.last = null;
    channel.replay = null;
    if (this.channels.get(channel.threadId) === channel) this.channels.delete(channel.threadId);
    if (this.clientCount === 0) this.stopBackground();
  }

  private startBackground(): void {
    this.unsubscribe ??= this.options.store.subscribe(
      (change) => this.onChange(change),
      () => this.resync(),
    );
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private stopBackground(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private beat(): void {
    for (const channel of this.channels.values()) {
      for (const sink of [...channel.clients]) this.send(channel, sink, HEARTBEAT_FRAME);
    }
  }
}
