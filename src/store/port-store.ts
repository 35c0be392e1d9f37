import type { MessagePort } from 'node:worker_threads';
import { StoreUnavailableError } from '../errors.js';
import type { Workflow, WorkflowHead } from '../domain/types.js';
import { PartsInterner } from './parts-interner.js';
import type { WorkflowChange, WorkflowStore } from './workflow-store.js';

/**
 * A store on one thread, used from another: `servePort` answers on the thread that owns the store (the
 * memory store lives on the main thread, beside the requests that read it), `PortStore` asks from a worker
 * thread (the generation thread). Calls made in one turn of the asking thread's event loop travel as one
 * message, and their answers come back as one: ten thousand loops write about 3,500 sections a second, and
 * a message costs the receiving thread more than the store call it carries.
 */

/** What a port may call: the contract's methods but the listeners (sent as `listen`) and `close`. */
const METHODS = [
  'create', 'getHead', 'get', 'getIfChanged', 'transition', 'updateSection', 'appendLog', 'putExhibit', 'delete',
  'listActive', 'listGenerating', 'acquireLease', 'renewLease', 'releaseLease', 'ping',
] as const satisfies readonly Exclude<keyof WorkflowStore, 'onLeaseReleased' | 'subscribe' | 'close'>[];
type Method = (typeof METHODS)[number];
const CALLABLE = new Set<string>(METHODS);

/** Asking thread → owning thread. */
export interface ToOwner {
  /** Calls: id, method, arguments (functions are not sent: `listGenerating`'s `skip` applies on the asking side). */
  calls?: [number, Method, unknown[]][];
  /** Start or stop hearing about released leases and changes. */
  listen?: { released?: boolean; changes?: boolean };
}

/** Owning thread → asking thread. */
export interface FromOwner {
  /** Answers: id, whether the call succeeded, its value or the error's name and message. */
  answers?: [number, boolean, unknown][];
  released?: string[];
  changes?: WorkflowChange[];
  /** Every change made from now on will be delivered (answers `listen.changes`). */
  listening?: true;
}

interface SentError {
  name: string;
  message: string;
}

/** Collects what one turn of the event loop sends and posts it once, after the turn's callbacks. */
class Batcher<T> {
  private pending: T | null = null;

  constructor(
    private readonly post: (message: T) => void,
    private readonly empty: () => T,
  ) {}

  add(fill: (message: T) => void): void {
    if (!this.pending) {
      this.pending = this.empty();
      setImmediate(() => this.flush());
    }
    fill(this.pending);
  }

  flush(): void {
    const message = this.pending;
    this.pending = null;
    if (message) this.post(message);
  }
}

function toSentError(err: unknown): SentError {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

function fromSentError(sent: SentError): Error {
  if (sent.name === 'StoreUnavailableError') return new StoreUnavailableError(new Error(sent.message));
  const err = new Error(sent.message);
  err.name = sent.name;
  return err;
}

/**
 * Answers `PortStore` calls arriving on `port` from `store`. Returns the function that stops serving (it
 * leaves the store open: its owner closes it).
 */
export function servePort(store: WorkflowStore, port: MessagePort): () => void {
  const out = new Batcher<FromOwner>((m) => port.postMessage(m), () => ({}));
  let stopReleased: (() => void) | null = null;
  let stopChanges: (() => void) | null = null;
  const answer = (id: number, ok: boolean, value: unknown) => out.add((m) => (m.answers ??= []).push([id, ok, value]));

  port.on('message', (message: ToOwner) => {
    for (const [id, method, args] of message.calls ?? []) {
      // Every method of the contract is async; a synchronous throw is answered the same way.
      let result: Promise<unknown>;
      try {
        // Only the contract's calls: a message naming anything else (close, a private field) is refused.
        if (!CALLABLE.has(method)) throw new Error(`not a store call: ${String(method)}`);
        result = (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } catch (err) {
        result = Promise.reject(err);
      }
      result.then(
        (value) => answer(id, true, value),
        (err: unknown) => answer(id, false, toSentError(err)),
      );
    }
    const listen = message.listen;
    if (listen?.released !== undefined) {
      stopReleased?.();
      stopReleased = listen.released ? store.onLeaseReleased((id) => out.add((m) => (m.released ??= []).push(id))) : null;
    }
    if (listen?.changes !== undefined) {
      stopChanges?.();
      stopChanges = listen.changes
        ? store.subscribe(
            (change) => out.add((m) => (m.changes ??= []).push(change)),
            () => out.add((m) => (m.listening = true)),
          )
        : null;
    }
  });
  // The owner's other work keeps its thread alive; a forgotten port does not.
  port.unref();
  return () => {
    stopReleased?.();
    stopChanges?.();
    out.flush();
    port.close();
  };
}

/** The `WorkflowStore` contract over a port served by `servePort` on the thread that owns the store. */
export class PortStore implements WorkflowStore {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private readonly out: Batcher<ToOwner>;
  private readonly parts = new PartsInterner(16 * 1024 * 1024);
  private readonly releasedListeners = new Set<(threadId: string) => void>();
  private readonly changeListeners = new Set<(change: WorkflowChange) => void>();
  private readyListeners: (() => void)[] = [];
  /** The owner confirmed that changes flow (`listening`). */
  private changesFlow = false;
  private closed = false;

  constructor(private readonly port: MessagePort) {
    this.out = new Batcher<ToOwner>((m) => port.postMessage(m), () => ({}));
    port.on('message', (message: FromOwner) => this.receive(message));
    port.on('close', () => this.failWaiting());
  }

  create = this.method('create');
  getHead = this.method('getHead');
  transition = this.method('transition');
  updateSection = this.method('updateSection');
  appendLog = this.method('appendLog');
  putExhibit = this.method('putExhibit');

  listActive = this.method('listActive');
  acquireLease = this.method('acquireLease');
  renewLease = this.method('renewLease');
  releaseLease = this.method('releaseLease');
  ping = this.method('ping');

  async get(threadId: string, options?: { logLimit?: number }): Promise<Workflow | null> {
    const workflow = (await this.call('get', [threadId, options])) as Workflow | null;
    return workflow && this.shareParts(workflow);
  }

  async getIfChanged(
    threadId: string,
    knownVersion: number,
    options?: { logLimit?: number },
  ): Promise<{ head: WorkflowHead; workflow: Workflow | null } | null> {
    const read = (await this.call('getIfChanged', [threadId, knownVersion, options])) as { head: WorkflowHead; workflow: Workflow | null } | null;
    if (read?.workflow) read.workflow = this.shareParts(read.workflow);
    return read;
  }

  async delete(threadId: string): Promise<boolean> {
    this.parts.forget(threadId);
    return (await this.call('delete', [threadId])) as boolean;
  }

  async listGenerating(options: { skip?: (threadId: string) => boolean; unleased?: boolean } = {}): Promise<string[]> {
    const ids = (await this.call('listGenerating', [{ unleased: options.unleased }])) as string[];
    const skip = options.skip;
    return skip ? ids.filter((id) => !skip(id)) : ids;
  }

  onLeaseReleased(listener: (threadId: string) => void): () => void {
    this.releasedListeners.add(listener);
    if (this.releasedListeners.size === 1) this.out.add((m) => ((m.listen ??= {}).released = true));
    return () => {
      if (this.releasedListeners.delete(listener) && this.releasedListeners.size === 0 && !this.closed) {
        this.out.add((m) => ((m.listen ??= {}).released = false));
      }
    };
  }

  subscribe(listener: (change: WorkflowChange) => void, onReady?: () => void): () => void {
    this.changeListeners.add(listener);
    if (onReady) this.readyListeners.push(onReady);
    if (this.changeListeners.size === 1) this.out.add((m) => ((m.listen ??= {}).changes = true));
    else if (onReady && this.changesFlow) queueMicrotask(() => this.fireReady());
    return () => {
      if (this.changeListeners.delete(listener) && this.changeListeners.size === 0 && !this.closed) {
        this.changesFlow = false;
        this.out.add((m) => ((m.listen ??= {}).changes = false));
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.out.flush();
    this.port.close();
    this.failWaiting();
  }

  /** The contract's "same frozen objects for the parts a change left alone", for copies that arrive new. */
  private shareParts(workflow: Workflow): Workflow {
    const parts = this.parts.read(workflow.thread_id, workflow);
    return Object.assign(workflow, parts) as Workflow;
  }

  private method<M extends Method>(name: M): WorkflowStore[M] {
    return ((...args: unknown[]) => this.call(name, args)) as WorkflowStore[M];
  }

  private call(method: Method, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(new Error('the store port is closed')));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.out.add((m) => (m.calls ??= []).push([id, method, args]));
    });
  }

  private receive(message: FromOwner): void {
    for (const [id, ok, value] of message.answers ?? []) {
      const waiter = this.waiting.get(id);
      if (!waiter) continue;
      this.waiting.delete(id);
      if (ok) waiter.resolve(value);
      else waiter.reject(fromSentError(value as SentError));
    }
    for (const id of message.released ?? []) for (const listener of [...this.releasedListeners]) listener(id);
    for (const change of message.changes ?? []) for (const listener of [...this.changeListeners]) listener(change);
    if (message.listening) {
      this.changesFlow = true;
      this.fireReady();
    }
  }

  private fireReady(): void {
    const ready = this.readyListeners;
    this.readyListeners = [];
    for (const listener of ready) listener();
  }

  private failWaiting(): void {
    for (const { reject } of this.waiting.values()) reject(new StoreUnavailableError(new Error('the store port is closed')));
    this.waiting.clear();
  }
}
