import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { replayMetrics, type MetricCall, type StoreMetrics } from '../metrics/store-metrics.js';
import { servePort } from '../store/port-store.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import type { GenerationLoops } from './generation-loops.js';

/** Main thread → generation thread. */
export type ToThread =
  | { t: 'ensure'; threadId: string }
  | { t: 'stop'; threadId: string; req: number }
  | { t: 'recover' }
  | { t: 'close' };

/** Generation thread → main thread. */
export type FromThread =
  | { t: 'ready' }
  /** `loops`: each loop start (true) and end (false) since the last report, in the order they happened. */
  | { t: 'report'; loops: [string, boolean][]; metrics: MetricCall[] }
  | { t: 'stopped'; req: number }
  | { t: 'closed' };

export interface GenerationThreadOptions {
  config: Config;
  logger: Logger;
  /** The app's metrics: the thread's section and store metrics are replayed into them. */
  metrics: StoreMetrics;
  /**
   * A store that lives on this thread (the memory store): the thread reaches it through a port
   * (`PortStore`). Without one, the thread opens its own connection to the configured Redis.
   */
  store?: WorkflowStore;
  /** First wait before a thread that died is started again; doubles up to 30 s while it keeps dying. */
  restartDelayMs?: number;
}

const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Compiled, the thread runs dist/…/generation-worker.js. From source (tsx, the tests) it runs the .ts file
 * through tsx's loader, registered inside the thread: Node 20 applies neither the parent's loader nor an
 * `--import` in a worker's execArgv to a worker.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const BOOT_FROM_SOURCE = `
const { workerData } = require('node:worker_threads');
import(workerData.loader).then((tsx) => { tsx.register(); return import(workerData.entry); });
`;
const tsxLoader = () => import.meta.resolve('tsx/esm/api');

/**
 * Runs the generation loops on a worker thread of their own: that thread has its own writer, timers and
 * heap, so the main thread only answers requests, and the collections the loops' objects cause stop only the
 * loops. It reaches the store through a connection of its own (Redis) or through a port to the store that
 * lives on the main thread (the memory store: `options.store`, served by `servePort`). Otherwise the two
 * threads share nothing but small messages: which workflow to run or stop, and back which loops started and
 * ended and the metric calls to count. Both sides reach the same store, so this is the multi-process
 * contract inside one process: leases, pause at the next section boundary, takeover of a dead thread's
 * workflows by the recovery sweep once its leases expire. A thread that dies is started again (after 1 s,
 * doubling to 30 s while it keeps dying); requests carry on meanwhile. The thread starts on first use.
 */
export class GenerationThread implements GenerationLoops {
  private worker: Worker | null = null;
  private readonly running = new Set<string>();
  /** Asked to run (`ensure`) and not yet reported as started or ended: the thread may have a loop for them. */
  private readonly asked = new Set<string>();
  private readonly stops = new Map<number, () => void>();
  private nextReq = 0;
  private recovering = false;
  /** Messages for a thread being started again. */
  private readonly queued: ToThread[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly firstRestartDelay: number;
  private restartDelay: number;
  private closing: Promise<void> | null = null;
  private readonly log: Logger;
  /** Waiters for the first thread's 'ready' (`ready()`). */
  private starting: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | null = null;
  private started = false;
  private lastError: Error | null = null;
  /** Stops answering the current thread's store calls (a store given in the options). */
  private stopServing: (() => void) | null = null;

  constructor(private readonly options: GenerationThreadOptions) {
    this.log = options.logger.child({ component: 'generation-thread' });
    this.firstRestartDelay = this.restartDelay = options.restartDelayMs ?? 1000;
  }

  /** Loops the thread last reported running, and those asked for since that it has not reported on yet. */
  get activeLoops(): number {
    let n = this.running.size;
    for (const id of this.asked) if (!this.running.has(id)) n++;
    return n;
  }

  isRunning(threadId: string): boolean {
    return this.running.has(threadId);
  }

  ready(): Promise<void> {
    if (this.started) return Promise.resolve();
    if (!this.starting) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.starting = { promise, resolve, reject };
      if (!this.worker && !this.restartTimer) this.start();
    }
    return this.starting.promise;
  }

  ensureRunning(threadId: string): void {
    this.asked.add(threadId);
    this.post({ t: 'ensure', threadId });
  }

  /**
   * Without a round trip to the thread when it has no loop for the workflow as far as this thread knows (a
   * deletion of a finished workflow answers at once). A loop the thread started on its own within the last
   * report interval (a recovery sweep) is not waited for: like a loop in another process, it finds the
   * workflow gone at its next store call and ends.
   */
  stop(threadId: string): Promise<void> {
    if (!this.worker && !this.restartTimer) return Promise.resolve();
    if (!this.running.has(threadId) && !this.asked.has(threadId)) return Promise.resolve();
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.stops.set(req, resolve);
      this.post({ t: 'stop', threadId, req });
    });
  }

  startRecovery(): void {
    if (this.recovering) return;
    this.recovering = true;
    this.post({ t: 'recover' });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private post(message: ToThread): void {
    if (this.closing) return;
    if (this.restartTimer) this.queued.push(message);
    else (this.worker ?? this.start()).postMessage(message);
  }

  private start(): Worker {
    const entry = new URL(`./generation-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);
    const channel = this.options.store ? new MessageChannel() : null;
    if (channel && this.options.store) this.stopServing = servePort(this.options.store, channel.port1);
    const storePort = channel?.port2 ?? null;
    const workerData = { config: this.options.config, entry: entry.href, loader: FROM_SOURCE ? tsxLoader() : null, storePort };
    const transferList = storePort ? [storePort] : [];
    const worker = FROM_SOURCE
      ? new Worker(BOOT_FROM_SOURCE, { eval: true, workerData, transferList })
      : new Worker(entry, { workerData, transferList });
    // The HTTP server keeps the process alive; a test that forgets to close does not hang on the thread.
    worker.unref();
    worker.on('message', (message: FromThread) => this.receive(message));
    worker.on('error', (err) => {
      this.lastError = err;
      this.log.error({ err }, 'generation thread failed');
    });
    worker.on('exit', (code) => this.exited(worker, code));
    this.worker = worker;
    return worker;
  }

  private receive(message: FromThread): void {
    switch (message.t) {
      case 'ready':
        this.restartDelay = this.firstRestartDelay;
        this.started = true;
        this.starting?.resolve();
        this.starting = null;
        break;
      case 'report':
        for (const [id, running] of message.loops) {
          if (running) this.running.add(id);
          else this.running.delete(id);
          this.asked.delete(id);
        }
        replayMetrics(this.options.metrics, message.metrics);
        break;
      case 'stopped':
        this.stops.get(message.req)?.();
        this.stops.delete(message.req);
        break;
      case 'closed':
        break;
    }
  }

  /** A thread that ends without being closed died: its loops are gone; start another. */
  private exited(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.stopServing?.();
    this.stopServing = null;
    this.running.clear();
    this.asked.clear();
    for (const resolve of this.stops.values()) resolve();
    this.stops.clear();
    if (!this.started && this.starting) {
      // It never got going: whoever waits at start hears why (the server then refuses to start).
      const reason = this.lastError?.message ?? `exit code ${code}`;
      this.starting.reject(new Error(`the generation thread did not start: ${reason}`));
      this.starting = null;
    }
    if (this.closing) return;
    this.log.error({ code, restartInMs: this.restartDelay }, 'generation thread exited; starting another');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const worker = this.start();
      if (this.recovering) worker.postMessage({ t: 'recover' } satisfies ToThread);
      for (const message of this.queued.splice(0)) worker.postMessage(message);
    }, this.restartDelay);
    this.restartTimer.unref();
    this.restartDelay = Math.min(this.restartDelay * 2, MAX_RESTART_DELAY_MS);
  }

  private async shutDown(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (m: FromThread) => m.t === 'closed' && resolve());
    });
    worker.postMessage({ t: 'close' } satisfies ToThread);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.config.shutdownTimeoutMs).unref());
    await Promise.race([closed, exited, timeout]);
    await worker.terminate();
    this.stopServing?.();
    this.stopServing = null;
  }
}
