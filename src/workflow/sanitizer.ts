import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { SANITIZE_OPTIONS, isCleanSectionHtml, sanitizeSectionHtml } from './html.js';

/** Cleans a writer's section HTML (see `ALLOWED_TAGS`). */
export interface HtmlSanitizer {
  sanitize(html: string): Promise<string>;
  /** Stops the thread; later calls are cleaned on the caller's thread. */
  close(): Promise<void>;
}

// CommonJS, evaluated in the worker (works the same under tsx, vitest and the compiled dist/).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sanitizeHtml = require(workerData.modulePath);
const clean = (html) => {
  try {
    return sanitizeHtml(html, workerData.options);
  } catch {
    return undefined; // retried on the main thread, where the error reaches its caller
  }
};
parentPort.on('message', ({ id, items }) => parentPort.postMessage({ id, items: items.map(clean) }));
`;

interface Pending {
  html: string;
  resolve: (clean: string) => void;
  reject: (err: unknown) => void;
}

/**
 * Runs sanitize-html on a worker thread. sanitize-html declares its `Frame` constructor and a dozen helpers
 * inside every call, so each call leaves new hidden classes, descriptor arrays and inline-cache handlers —
 * objects V8 allocates straight into the old generation. At thousands of sections a second that churn and
 * the cleaning itself (about 22 µs a section) moved off the thread that answers polls (bench scenario 4).
 * Sections finished in one turn of the event loop travel as one message. The thread starts on first use.
 * HTML that is clean already (`isCleanSectionHtml`) never goes there: the check costs a few microseconds.
 * Nothing is lost if it fails: its unanswered sections are cleaned here instead, and the next call starts
 * a new thread.
 */
export class WorkerSanitizer implements HtmlSanitizer {
  private worker: Worker | null = null;
  private queued: Pending[] = [];
  private readonly sent = new Map<number, Pending[]>();
  private nextId = 0;
  private flushing = false;
  private closed = false;
  private readonly modulePath = createRequire(import.meta.url).resolve('sanitize-html');

  sanitize(html: string): Promise<string> {
    // Already clean (the default writer's output always is): nothing to send anywhere.
    if (isCleanSectionHtml(html)) return Promise.resolve(html);
    if (this.closed) return Promise.resolve(sanitizeSectionHtml(html));
    return new Promise((resolve, reject) => {
      this.queued.push({ html, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.cleanHere([...this.sent.values()].flat().concat(this.queued.splice(0)));
    this.sent.clear();
    await worker?.terminate();
  }

  private flush(): void {
    this.flushing = false;
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    if (this.closed) return this.cleanHere(batch);
    const id = this.nextId++;
    this.sent.set(id, batch);
    this.thread().postMessage({ id, items: batch.map((p) => p.html) });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { modulePath: this.modulePath, options: SANITIZE_OPTIONS },
    });
    // Never what keeps the process alive; pending work is cleaned here at close.
    worker.unref();
    worker.on('message', ({ id, items }: { id: number; items: string[] }) => {
      const batch = this.sent.get(id);
      this.sent.delete(id);
      batch?.forEach((p, i) => (items[i] === undefined ? this.cleanHere([p]) : p.resolve(items[i])));
    });
    const lost = () => {
      if (this.worker !== worker) return;
      this.worker = null;
      const unanswered = [...this.sent.values()].flat();
      this.sent.clear();
      this.cleanHere(unanswered);
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }

  /** Each one answered on its own: an input sanitize-html cannot take fails only its own call. */
  private cleanHere(batch: Pending[]): void {
    for (const p of batch) {
      try {
        p.resolve(sanitizeSectionHtml(p.html));
      } catch (err) {
        p.reject(err);
      }
    }
  }
}
